//go:build !linux && !darwin && !windows

package licentia

import "runtime"

// Other systems: the CPU architecture and the first network card, as the Python SDK's generic readers.
func readSystemHardware(dataDir string) RawHardware {
	return RawHardware{CPU: runtime.GOARCH, MAC: firstMAC(systemInterfaces())}
}

// readSystemComponents: the readers here find no VM or container signals.
func readSystemComponents(dataDir string) RawHardware { return readSystemHardware(dataDir) }

// registeredOwner: a Windows fact only.
func registeredOwner() (string, string) { return "", "" }
