package runscope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// RequestIndex returns the StepResult.Index (position among request steps)
// of the first request step with this method and URL as written in the
// export (before substitution), or -1. Use it to key Runner.StepHooks
// without hard-coding positions, e.g.
// s.RequestIndex("GET", "{{SCIMBaseURL}}/Groups") for the Okta SPEC test.
func (s *Suite) RequestIndex(method, rawURL string) int {
	idx := 0
	for _, st := range s.Steps {
		if st.StepType == "pause" {
			continue
		}
		if st.StepType == "request" && st.Method == method && st.URL == rawURL {
			return idx
		}
		idx++
	}
	return -1
}

// CheckGroupsList is a Go check for the intent of the JavaScript attached
// to the Okta SPEC test's "GET /Groups" step, for use as a StepHooks entry.
// The script parses the body as JSON and, when totalResults >= 1, asserts
// that Resources is an array.
//
// It is stricter than the script: the script only fails when the body is
// not JSON (JSON.parse throws); when totalResults is missing, not a number,
// or >= 1 with a non-array Resources, no assert runs and Runscope passes
// the step. CheckGroupsList reports all of those as errors.
func CheckGroupsList(_ int, body []byte) error {
	doc, err := decodeJSON(body)
	if err != nil {
		return err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return errors.New("response is not a JSON object")
	}
	n, ok := obj["totalResults"].(json.Number)
	if !ok {
		return fmt.Errorf("totalResults is %s, not a JSON number", StringOf(obj["totalResults"]))
	}
	total, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return fmt.Errorf("totalResults %s: %w", n, err)
	}
	if total >= 1 {
		if _, ok := obj["Resources"].([]any); !ok {
			return fmt.Errorf("totalResults is %s but Resources is not an array", n)
		}
	}
	return nil
}
