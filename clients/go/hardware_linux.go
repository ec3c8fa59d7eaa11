//go:build linux

package licentia

// On Linux every value is a plain file read (no subprocess), as in the Python SDK.
func readSystemHardware(dataDir string) RawHardware {
	return readLinuxHardware("/", dataDir)
}

// registeredOwner: a Windows fact only.
func registeredOwner() (string, string) { return "", "" }
