//go:build darwin

package licentia

import (
	"context"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

var (
	ioregOnce   sync.Once
	ioregOutput string
	ioregRan    bool
)

// ioreg is run once per process, its answer remembered in memory, never on disk: a value
// kept in the data directory would travel with a copy of it to another Mac.
func ioreg() (string, bool) {
	ioregOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		// By absolute path, never through PATH, which another program could shadow.
		out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
		ioregOutput, ioregRan = string(out), err == nil
	})
	return ioregOutput, ioregRan
}

// On macOS: IOPlatformUUID (the one subprocess), no disk serial, the CPU as uname names it.
func readSystemHardware(dataDir string) RawHardware {
	out, ok := ioreg()
	machine, processor := "x86_64", "i386"
	if runtime.GOARCH == "arm64" {
		machine, processor = "arm64", "arm"
	}
	return macHardware(out, ok, machine, processor, macNode(firstMAC(systemInterfaces())))
}

// readSystemComponents: the readers here find no VM or container signals.
func readSystemComponents(dataDir string) RawHardware { return readSystemHardware(dataDir) }

// registeredOwner: a Windows fact only.
func registeredOwner() (string, string) { return "", "" }
