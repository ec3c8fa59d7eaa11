package licentia

// Raw hardware identifiers, read per operating system (hardware_linux.go,
// hardware_darwin.go, hardware_windows.go pick the readers by build tag). The
// readers' parsing lives here, in pure functions tested on every system with
// recorded outputs, so one machine gives the Go SDK the same raw values, hence
// the same hashes, as the Python SDK (src/licentia/client/hardware/).
// A reader that cannot read a value gives "", never an error.

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// HardwareReader reads this machine's raw identifiers; Options.Hardware
// replaces the real one in tests.
type HardwareReader func(dataDir string) RawHardware

// -- Linux: plain file reads under root ("/", or a fake tree in tests) ----------

var machineIDFiles = []string{"etc/machine-id", "var/lib/dbus/machine-id"}

// Interfaces that are software, not a network card: their address changes between boots.
var virtualNICPrefixes = []string{
	"lo", "docker", "veth", "br-", "br", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "ifb", "dummy",
	"bond", "team", "cni", "flannel", "cali", "zt", "tailscale",
}

var dmiFiles = []string{"sys_vendor", "product_name", "board_vendor", "bios_vendor", "chassis_vendor"}

var hypervisorVendors = []string{
	"qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "bochs", "parallels",
	"virtual machine", "hyper-v", "amazon ec2", "google compute engine", "openstack", "bhyve",
}

var containerCgroups = []string{"docker", "kubepods", "containerd", "lxc", "libpod", "podman"}

// readText: the file's first limit bytes, trimmed; ok false when it cannot be read.
// The buffer grows with what is read, never allocated to the limit: sysfs and
// /proc files say size 0, and most are a line, read at every offline check.
func readText(path string, limit int64) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, limit)) // what was read before an error counts, as before
	return strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD")), true
}

func text(path string) string {
	s, _ := readText(path, 65536)
	return s
}

func listDir(path string) []string {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

var allZeros = regexp.MustCompile(`^0+$`)

func linuxMachineID(root string) string {
	for _, name := range machineIDFiles {
		if v := text(filepath.Join(root, name)); v != "" && !allZeros.MatchString(v) {
			return v
		}
	}
	return ""
}

// cpuInfo: the first processor's block of /proc/cpuinfo.
func cpuInfo(root string) map[string]string {
	info := map[string]string{}
	content, _ := readText(filepath.Join(root, "proc/cpuinfo"), 32768)
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			if len(info) > 0 {
				break
			}
			continue
		}
		at := strings.IndexByte(line, ':')
		if at < 0 {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(line[:at]))
		if _, seen := info[key]; !seen {
			info[key] = strings.TrimSpace(line[at+1:])
		}
	}
	return info
}

func linuxCPUIdentity(root string) string {
	info := cpuInfo(root)
	// x86 names vendor/family/model/stepping; ARM names implementer/part/revision.
	for _, fields := range [][]string{
		{"vendor_id", "cpu family", "model", "model name", "stepping"},
		{"cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision"},
	} {
		values := make([]string, len(fields))
		any := false
		for i, f := range fields {
			values[i] = info[f]
			any = any || values[i] != ""
		}
		if any {
			return strings.Join(values, "|")
		}
	}
	return ""
}

// locallyAdministered: bit 1 of the first octet is set by software (containers,
// VPNs, randomised Wi-Fi); bit 0 is multicast.
func locallyAdministered(mac string) bool {
	first, err := strconv.ParseUint(strings.SplitN(mac, ":", 2)[0], 16, 8)
	return err != nil || first&0x03 != 0
}

func usableMAC(mac string) bool {
	return len(mac) == 17 && mac != "00:00:00:00:00:00" && !locallyAdministered(mac)
}

func linuxPermanentMAC(root string) string {
	netDir := filepath.Join(root, "sys/class/net")
	for _, name := range listDir(netDir) {
		skip := false
		for _, p := range virtualNICPrefixes {
			skip = skip || strings.HasPrefix(name, p)
		}
		iface := filepath.Join(netDir, name)
		if skip || !exists(filepath.Join(iface, "device")) {
			continue // no bus device behind it: virtual
		}
		if t, ok := readText(filepath.Join(iface, "addr_assign_type"), 64); ok && t != "0" {
			continue // random or set by user space
		}
		if mac := strings.ToLower(text(filepath.Join(iface, "address"))); usableMAC(mac) {
			return mac
		}
	}
	return ""
}

var mountEscapes = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

// mountSource: the device (/dev/sda1) of the mount holding path: the longest matching mount point.
func mountSource(mountinfo, path string) string {
	best, bestLen := "", -1
	for _, line := range strings.Split(mountinfo, "\n") {
		sep := strings.Index(line, " - ")
		if sep < 0 {
			continue
		}
		fields := strings.Fields(line[:sep])
		rest := strings.Fields(line[sep+3:])
		if len(fields) < 5 || len(rest) < 2 {
			continue
		}
		point := mountEscapes.Replace(fields[4])
		inside := path == point || strings.HasPrefix(path, strings.TrimRight(point, "/")+"/") || point == "/"
		if inside && len(point) > bestLen {
			best, bestLen = rest[1], len(point)
		}
	}
	return best
}

func diskOfPartition(root, name string) string {
	block := filepath.Join(root, "sys/block")
	if isDir(filepath.Join(block, name)) {
		return name
	}
	for _, disk := range listDir(block) {
		if isDir(filepath.Join(block, disk, name)) {
			return disk
		}
	}
	return ""
}

var byIDSkipped = regexp.MustCompile(`^(wwn-|dm-|lvm-|md-)`)

// linuxDiskSerial: the serial of the physical disk holding dataDir (sysfs first, then /dev/disk/by-id).
func linuxDiskSerial(root, dataDir string) string {
	mountinfo, _ := readText(filepath.Join(root, "proc/self/mountinfo"), 1<<20)
	source := mountSource(mountinfo, dataDir)
	if !strings.HasPrefix(source, "/dev/") {
		return "" // overlay, tmpfs, network share
	}
	disk := diskOfPartition(root, filepath.Base(source))
	if disk == "" {
		return ""
	}
	device := filepath.Join(root, "sys/block", disk)
	for _, candidate := range []string{"device/serial", "serial", "device/wwid"} {
		if v := text(filepath.Join(device, candidate)); v != "" {
			return v
		}
	}
	byID := filepath.Join(root, "dev/disk/by-id")
	for _, link := range listDir(byID) {
		if byIDSkipped.MatchString(link) || strings.Contains(link, "-part") {
			continue
		}
		if target, err := os.Readlink(filepath.Join(byID, link)); err == nil && filepath.Base(target) == disk {
			return link
		}
	}
	return ""
}

// linuxVirtualSignals: VM and container signals, e.g. ["dmi:qemu", "cpu:hypervisor", "docker"].
func linuxVirtualSignals(root string) []string {
	found := []string{}
	has := func(s string) bool {
		for _, f := range found {
			if f == s {
				return true
			}
		}
		return false
	}
	for _, name := range dmiFiles {
		value := strings.ToLower(text(filepath.Join(root, "sys/class/dmi/id", name)))
		for _, v := range hypervisorVendors {
			if strings.Contains(value, v) {
				if !has("dmi:" + v) {
					found = append(found, "dmi:"+v)
				}
				break
			}
		}
	}
	for _, flag := range strings.Fields(cpuInfo(root)["flags"]) {
		if flag == "hypervisor" {
			found = append(found, "cpu:hypervisor")
			break
		}
	}
	if exists(filepath.Join(root, ".dockerenv")) {
		found = append(found, "docker")
	}
	if exists(filepath.Join(root, "run/.containerenv")) {
		found = append(found, "podman")
	}
	cgroup := strings.ToLower(text(filepath.Join(root, "proc/1/cgroup")))
	for _, n := range containerCgroups {
		if strings.Contains(cgroup, n) {
			found = append(found, "cgroup:"+n)
			break
		}
	}
	return found
}

// readLinuxHardware reads every component under root, and the VM and container signals.
func readLinuxHardware(root, dataDir string) RawHardware {
	raw := readLinuxComponents(root, dataDir)
	raw.VirtualSignals = linuxVirtualSignals(root)
	return raw
}

// readLinuxComponents reads the components only: what an offline check matches.
func readLinuxComponents(root, dataDir string) RawHardware {
	return RawHardware{
		Machine: linuxMachineID(root),
		Disk:    linuxDiskSerial(root, dataDir),
		CPU:     linuxCPUIdentity(root),
		MAC:     linuxPermanentMAC(root),
	}
}

// -- macOS and Windows: parsing of what the system answers -------------------------

var platformUUIDPattern = regexp.MustCompile(`"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"`)

// parsePlatformUUID reads IOPlatformUUID from `ioreg -rd1 -c IOPlatformExpertDevice`.
func parsePlatformUUID(output string) string {
	if m := platformUUIDPattern.FindStringSubmatch(output); m != nil {
		return m[1]
	}
	return ""
}

// unameCPU: Python's platform.machine() and platform.processor() as uname gives them
// on macOS and other Unix systems without a dedicated reader, joined as the Python SDK joins them.
func unameCPU(machine, processor string) string {
	parts := []string{}
	for _, p := range []string{machine, processor} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "|")
}

// darwinCPU: `uname -m` and `uname -p` on a Mac for Go's architecture names.
func darwinCPU(goarch string) string {
	switch goarch {
	case "arm64":
		return unameCPU("arm64", "arm")
	case "amd64":
		return unameCPU("x86_64", "i386")
	}
	return goarch
}

// macHardware: a Mac's raw values from what the system gave: ioreg's output (ok false when
// it could not run), uname's machine and processor words, and the first card's address.
func macHardware(ioreg string, ok bool, machine, processor string, node uint64) RawHardware {
	raw := RawHardware{CPU: unameCPU(machine, processor), MAC: nodeMAC(node)}
	if ok {
		raw.Machine = parsePlatformUUID(ioreg)
	}
	return raw
}

// windowsHardware: a Windows machine's raw values from what the system gave: the registry's
// MachineGuid and CentralProcessor\0 values ("" when absent), the volume's serial (0 when the
// call failed), platform's machine and processor words, and the first card's address.
func windowsHardware(machineGUID string, cpu [3]string, volumeSerial uint32, machine, processor string, node uint64) RawHardware {
	for i := range cpu {
		cpu[i] = strings.TrimSpace(cpu[i])
	}
	identity := windowsCPU(cpu[0], cpu[1], cpu[2])
	if identity == "" {
		identity = unameCPU(machine, processor)
	}
	return RawHardware{
		Machine: strings.TrimSpace(machineGUID),
		Disk:    formatVolumeSerial(volumeSerial),
		CPU:     identity,
		MAC:     nodeMAC(node),
	}
}

// formatVolumeSerial: GetVolumeInformationW's serial as the Python SDK writes it (8 hex digits; 0 is none).
func formatVolumeSerial(serial uint32) string {
	if serial == 0 {
		return ""
	}
	s := strings.ToUpper(strconv.FormatUint(uint64(serial), 16))
	return strings.Repeat("0", 8-len(s)) + s
}

// windowsCPU joins the CentralProcessor\0 registry values as the Python SDK does.
func windowsCPU(vendor, identifier, name string) string {
	if vendor == "" && identifier == "" && name == "" {
		return ""
	}
	return vendor + "|" + identifier + "|" + name
}

// windowsVolume: the root whose serial is read for dataDir (made absolute as the data path is):
// its drive, or \\server\share\ of a share, C:\ without one.
func windowsVolume(cwd, dataDir string) string {
	drive, _, _ := windowsAnchor(absoluteWindowsPath(cwd, dataDir))
	if drive == "" {
		drive = "C:"
	}
	return drive + `\`
}

// nodeMAC: a 48-bit card address as aa:bb:cc:dd:ee:ff, "" when its first octet has the
// multicast or locally administered bit (an address made up, or set by software).
func nodeMAC(node uint64) string {
	if node == 0 || node >= 1<<48 {
		return ""
	}
	mac := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(node>>40), byte(node>>32), byte(node>>24), byte(node>>16), byte(node>>8), byte(node))
	if locallyAdministered(mac) {
		return ""
	}
	return mac
}

// macNode: an address as the 48-bit integer nodeMAC reads (0 when it is none).
func macNode(mac string) uint64 {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return 0
	}
	var node uint64
	for _, b := range hw {
		node = node<<8 | uint64(b)
	}
	return node
}

// netInterface is what firstMAC needs of a network interface.
type netInterface struct {
	Name     string
	MAC      string
	Loopback bool
}

// firstMAC: the first network card's own address (by interface name), not set by software.
func firstMAC(interfaces []netInterface) string {
	sort.SliceStable(interfaces, func(i, j int) bool { return interfaces[i].Name < interfaces[j].Name })
	for _, i := range interfaces {
		mac := strings.ToLower(i.MAC)
		if !i.Loopback && usableMAC(mac) {
			return mac
		}
	}
	return ""
}

func systemInterfaces() []netInterface {
	list, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]netInterface, 0, len(list))
	for _, i := range list {
		out = append(out, netInterface{Name: i.Name, MAC: i.HardwareAddr.String(), Loopback: i.Flags&net.FlagLoopback != 0})
	}
	return out
}
