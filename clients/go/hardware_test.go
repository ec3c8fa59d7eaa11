package licentia

import (
	"os"
	"strings"
	"testing"
)

// The macOS and Windows readers' parsing, on outputs recorded from real machines.

func TestPlatformUUIDFromRecordedIoregOutputs(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/ioreg-macbook.txt": "7B1E4C2A-9D3F-5E6A-8B7C-0D1E2F3A4B5C",
		"testdata/ioreg-vm.txt":      "564D2D1B-6E8B-D3A1-0C45-E2F1A7B3C9D0",
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, parsePlatformUUID(string(raw)), want)
	}
	mustEqual(t, parsePlatformUUID(`"IOPlatformSerialNumber" = "X"`), "")
	mustEqual(t, parsePlatformUUID(""), "")
}

func TestMacCPUIsWhatPythonsPlatformModuleSays(t *testing.T) {
	// platform.machine() and platform.processor() on a Mac: uname -m and uname -p.
	mustEqual(t, darwinCPU("arm64"), "arm64|arm")
	mustEqual(t, darwinCPU("amd64"), "x86_64|i386")
}

func TestWindowsValuesInThePythonSDKsForms(t *testing.T) {
	mustEqual(t, formatVolumeSerial(0x1a2b3c4d), "1A2B3C4D")
	mustEqual(t, formatVolumeSerial(0xbeef), "0000BEEF")
	mustEqual(t, formatVolumeSerial(0), "")
	mustEqual(t, windowsCPU("GenuineIntel", "Intel64 Family 6 Model 142 Stepping 10", "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz"),
		"GenuineIntel|Intel64 Family 6 Model 142 Stepping 10|Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz")
	mustEqual(t, windowsCPU("", "ARMv8 (64-bit) Family 8", ""), "|ARMv8 (64-bit) Family 8|")
	mustEqual(t, windowsCPU("", "", ""), "")
	mustEqual(t, windowsVolume(`C:\Users\ada`, `C:\Users\ada\AppData\Local\my-app`), `C:\`)
	mustEqual(t, windowsVolume(`C:\Users\ada`, `d:\data`), `d:\`)
	mustEqual(t, windowsVolume(`C:\Users\ada`, `\\server\share\my-app`), `\\server\share\`)
	mustEqual(t, windowsVolume(`E:\work`, `data`), `E:\`)
}

func TestFirstMACSkipsLoopbackAndAddressesSetBySoftware(t *testing.T) {
	mustEqual(t, firstMAC([]netInterface{
		{Name: "lo0", MAC: "", Loopback: true},
		{Name: "utun0", MAC: "02:42:ac:11:00:02"}, // locally administered
		{Name: "en1", MAC: "3C:52:82:10:AA:CC"},
		{Name: "en0", MAC: "3c:52:82:10:aa:bb"},
	}), "3c:52:82:10:aa:bb")
	mustEqual(t, firstMAC([]netInterface{{Name: "en0", MAC: "00:00:00:00:00:00"}, {Name: "en1", MAC: "01:00:5e:00:00:01"}}), "")
	mustEqual(t, firstMAC(nil), "")
}

func TestDataPathTextIsPathlibs(t *testing.T) {
	for in, want := range map[string]string{
		"/home/ada/.local/share/my-app": "/home/ada/.local/share/my-app",
		"/home/ada//x/./y/":             "/home/ada/x/y",
		"/home/ada/../bob/my-app":       "/home/ada/../bob/my-app",
		"//net/share":                   "//net/share",
		"///three":                      "/three",
		"/":                             "/",
	} {
		got, err := absolutePath(in)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, got, want)
	}
	wd, _ := os.Getwd()
	got, _ := absolutePath("data")
	mustEqual(t, got, wd+"/data")
}

func TestMountTableFieldsSplitAsStringsFields(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a  b\tc\u00a0d \u0085e\xff f ", "x y z w v u", "  \r\n a"} {
		fields := strings.Fields(s)
		for n := 0; n < 8; n++ {
			got, ok := nthField(s, n)
			if ok != (n < len(fields)) || (ok && got != fields[n]) {
				t.Fatalf("field %d of %q: %q, %v; want %q", n, s, got, ok, fields)
			}
		}
	}
}

func TestADiskSerialIsReadAgainWhenItsSysfsNodeChanges(t *testing.T) {
	dir := t.TempDir()
	serial := dir + "/serial"
	if err := os.WriteFile(serial, []byte("DISK-A\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readAttribute(serial); got != "DISK-A" {
		t.Fatalf("first read: %q", got)
	}
	// Another disk behind the same path: a new node, read afresh (not the remembered value).
	replacement := dir + "/serial.new"
	if err := os.WriteFile(replacement, []byte("DISK-B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(replacement, serial); err != nil {
		t.Fatal(err)
	}
	if got := readAttribute(serial); got != "DISK-B" {
		t.Fatalf("after the disk changed: %q", got)
	}
	if err := os.Remove(serial); err != nil {
		t.Fatal(err)
	}
	if got := readAttribute(serial); got != "" {
		t.Fatalf("after the disk went: %q", got)
	}
}
