//go:build darwin

package licentia

import (
	"context"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

// platformUUID is remembered for the life of the process, never on disk: a
// value kept in the data directory would travel with a copy of it to another Mac.
var (
	platformUUIDOnce  sync.Once
	platformUUIDValue string
)

func platformUUID() string {
	platformUUIDOnce.Do(func() { platformUUIDValue = readPlatformUUID() })
	return platformUUIDValue
}

func readPlatformUUID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// By absolute path, never through PATH, which another program could shadow.
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return ""
	}
	return parsePlatformUUID(string(out))
}

// On macOS: IOPlatformUUID (the one subprocess), no disk serial, the CPU as uname names it.
func readSystemHardware(dataDir string) RawHardware {
	return RawHardware{
		Machine: platformUUID(),
		CPU:     darwinCPU(runtime.GOARCH),
		MAC:     firstMAC(systemInterfaces()),
	}
}

// registeredOwner: a Windows fact only.
func registeredOwner() (string, string) { return "", "" }
