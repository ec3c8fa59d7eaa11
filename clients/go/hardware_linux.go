//go:build linux

package licentia

// On Linux every value is a plain file read (no subprocess), as in the Python SDK.
func readSystemHardware(dataDir string) RawHardware {
	return readLinuxHardware("/", dataDir)
}

// readSystemComponents: the components without the VM and container signals (a dozen more reads).
func readSystemComponents(dataDir string) RawHardware {
	return readLinuxComponents("/", dataDir)
}

// registeredOwner: a Windows fact only.
func registeredOwner() (string, string) { return "", "" }
