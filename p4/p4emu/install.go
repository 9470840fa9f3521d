package p4emu

import (
	"os"
	"path/filepath"
)

// ClientName is the executable name that makes a binary act as `p4`.
const ClientName = "p4"

// IsClient reports whether argv0 names the p4 client, i.e. the running
// binary was exec'd through a link made by InstallClient. A main that
// embeds the emulator (the daemon's dev mode, p4emutest) checks this first
// and then calls RunClient.
func IsClient(argv0 string) bool { return filepath.Base(argv0) == ClientName }

// InstallClient makes dir/p4 a symlink to the running executable and
// returns its path, so the process can exec itself as `p4`.
func InstallClient(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, ClientName)
	_ = os.Remove(bin) // a stale link from an earlier run
	if err := os.Symlink(exe, bin); err != nil {
		return "", err
	}
	return bin, nil
}
