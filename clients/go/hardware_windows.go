//go:build windows

package licentia

import (
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// On Windows: the registry and GetVolumeInformationW, no subprocess, as in the Python SDK.

const keyWow6464Key = 0x0100

func registryString(path, name string) string {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return ""
	}
	var key syscall.Handle
	if syscall.RegOpenKeyEx(syscall.HKEY_LOCAL_MACHINE, p, 0, syscall.KEY_READ|keyWow6464Key, &key) != nil {
		return ""
	}
	defer syscall.RegCloseKey(key)
	n, err := syscall.UTF16PtrFromString(name)
	if err != nil {
		return ""
	}
	var kind, size uint32
	if syscall.RegQueryValueEx(key, n, nil, &kind, nil, &size) != nil || size == 0 || size > 1<<16 {
		return ""
	}
	buf := make([]uint16, size/2+1)
	if syscall.RegQueryValueEx(key, n, nil, &kind, (*byte)(unsafe.Pointer(&buf[0])), &size) != nil {
		return ""
	}
	if kind != syscall.REG_SZ && kind != syscall.REG_EXPAND_SZ {
		return ""
	}
	return strings.TrimSpace(syscall.UTF16ToString(buf))
}

var getVolumeInformation = syscall.NewLazyDLL("kernel32.dll").NewProc("GetVolumeInformationW")

func volumeSerial(volume string) uint32 {
	root, err := syscall.UTF16PtrFromString(volume)
	if err != nil {
		return 0
	}
	var serial uint32
	ok, _, _ := getVolumeInformation.Call(uintptr(unsafe.Pointer(root)), 0, 0, uintptr(unsafe.Pointer(&serial)), 0, 0, 0, 0)
	if ok == 0 {
		return 0
	}
	return serial
}

func readSystemHardware(dataDir string) RawHardware {
	const cpu = `HARDWARE\DESCRIPTION\System\CentralProcessor\0`
	cwd, _ := os.Getwd()
	return windowsHardware(
		registryString(`SOFTWARE\Microsoft\Cryptography`, "MachineGuid"),
		[3]string{registryString(cpu, "VendorIdentifier"), registryString(cpu, "Identifier"), registryString(cpu, "ProcessorNameString")},
		volumeSerial(windowsVolume(cwd, dataDir)),
		// Python's platform.machine() and platform.processor() on Windows.
		os.Getenv("PROCESSOR_ARCHITECTURE"), os.Getenv("PROCESSOR_IDENTIFIER"),
		macNode(firstMAC(systemInterfaces())),
	)
}

// readSystemComponents: the readers here find no VM or container signals.
func readSystemComponents(dataDir string) RawHardware { return readSystemHardware(dataDir) }

// registeredOwner: RegisteredOwner and RegisteredOrganization (client facts, when the application asks for them).
func registeredOwner() (string, string) {
	const path = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	return registryString(path, "RegisteredOwner"), registryString(path, "RegisteredOrganization")
}
