package scimhandlers_test

import (
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// TestMain lets this test binary act as the `p4` executable that the
// tests' p4 client execs (see p4emutest.Main).
func TestMain(m *testing.M) { p4emutest.Main(m) }
