package dev.licentia.client.hardware;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Linux readers: plain file reads under {@code root} ({@code /} in production, a fake tree in tests);
 * no subprocess. Each returns the raw value or null and never throws: a container without DMI or a
 * disk without a serial simply gives fewer components. Same sources and value forms as the Python
 * SDK, so one machine gives the same hashes to every SDK.
 */
public final class LinuxHardware {
    private static final List<String> MACHINE_ID_FILES = List.of("etc/machine-id", "var/lib/dbus/machine-id");
    // Interfaces that are software, not a network card: their address changes between boots.
    private static final List<String> VIRTUAL_NIC_PREFIXES = List.of("lo", "docker", "veth", "br-", "br", "virbr",
            "vmnet", "vboxnet", "tun", "tap", "wg", "ifb", "dummy", "bond", "team", "cni", "flannel", "cali", "zt",
            "tailscale");
    private static final List<String> DMI_FILES = List.of("sys_vendor", "product_name", "board_vendor", "bios_vendor",
            "chassis_vendor");
    private static final List<String> HYPERVISOR_VENDORS = List.of("qemu", "kvm", "vmware", "virtualbox", "innotek",
            "xen", "bochs", "parallels", "virtual machine", "hyper-v", "amazon ec2", "google compute engine",
            "openstack", "bhyve");
    private static final List<String> CONTAINER_CGROUPS = List.of("docker", "kubepods", "containerd", "lxc", "libpod",
            "podman");
    // What every check parses (the machine id, /proc/cpuinfo, the mount table) is split by hand, not
    // by regular expressions: their matcher was much of what the JIT compiled during the first checks.
    private static final Pattern NOT_A_DISK = Pattern.compile("^(wwn-|dm-|lvm-|md-).*");

    private LinuxHardware() {}

    /** Everything, read under {@code root} for the data directory {@code dataDir} (an absolute path). */
    public static RawHardware read(Path root, String dataDir) {
        return new RawHardware(machineId(root), diskSerial(root, dataDir), cpuIdentity(root), permanentMac(root),
                virtualSignals(root));
    }

    /** The four components without the virtual signals (an offline check matches components only). */
    public static RawHardware readComponents(Path root, String dataDir) {
        return new RawHardware(machineId(root), diskSerial(root, dataDir), cpuIdentity(root), permanentMac(root),
                List.of());
    }

    static String readText(Path path, int limit) {
        // A missing file is common (no DMI in a container, no serial on a virtual disk): asked first
        // without an exception, which costs more than the read.
        if (!exists(path)) return null;
        // java.io's stream reads straight into the array: less code on every check than a channel's
        // buffers, and a buffer the size of a sysfs page that grows only for the larger files.
        try (InputStream in = path.getFileSystem() == FileSystems.getDefault() ? new FileInputStream(path.toFile())
                : Files.newInputStream(path)) {
            byte[] buffer = new byte[Math.min(limit, 4096)];
            int length = 0;
            while (true) {
                if (length == buffer.length) {
                    if (length == limit) break;
                    buffer = Arrays.copyOf(buffer, (int) Math.min(limit, 2L * length));
                }
                int read = in.read(buffer, length, buffer.length - length);
                if (read < 0) break;
                length += read;
            }
            return stripped(buffer, length);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** {@code new String(bytes[0, length), UTF_8).strip()}, the ASCII white space cut from the bytes first: one string, not two. */
    static String stripped(byte[] bytes, int length) {
        int from = 0;
        while (from < length && strippedByte(bytes[from])) from++;
        while (length > from && strippedByte(bytes[length - 1])) length--;
        return new String(bytes, from, length - from, StandardCharsets.UTF_8).strip();
    }

    /** An ASCII byte that {@link Character#isWhitespace} (what {@link String#strip} removes) is true of. */
    private static boolean strippedByte(byte b) {
        return b == ' ' || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F);
    }

    // java.io.File asks without throwing; Files.exists and Files.isDirectory throw and catch inside
    // for a missing path, several times per check. Both follow symbolic links.
    static boolean exists(Path path) {
        return path.getFileSystem() == FileSystems.getDefault() ? path.toFile().exists() : Files.exists(path);
    }

    private static boolean isDirectory(Path path) {
        return path.getFileSystem() == FileSystems.getDefault() ? path.toFile().isDirectory() : Files.isDirectory(path);
    }

    static String readText(Path path) {
        return readText(path, 65536);
    }

    private static List<String> list(Path dir) {
        if (dir.getFileSystem() == FileSystems.getDefault()) {
            String[] names = dir.toFile().list(); // names as Files.list gives them, without a stream per check
            if (names == null) return List.of();
            Arrays.sort(names);
            return Arrays.asList(names);
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    static String machineId(Path root) {
        for (String name : MACHINE_ID_FILES) {
            String value = readText(root.resolve(name));
            if (value != null && !allZeros(value)) return value;
        }
        return null;
    }

    /** The first processor's block of /proc/cpuinfo, keys lower-cased. */
    static Map<String, String> cpuInfo(Path root) {
        Map<String, String> info = new LinkedHashMap<>();
        String text = readText(root.resolve("proc/cpuinfo"), 32768);
        if (text == null) return info;
        for (int start = 0, end; start < text.length(); start = end + 1) { // the lines, up to the first block's end
            end = text.indexOf('\n', start);
            if (end < 0) end = text.length();
            String line = text.substring(start, end > start && text.charAt(end - 1) == '\r' ? end - 1 : end);
            if (line.isBlank()) {
                if (!info.isEmpty()) break;
                continue;
            }
            int at = line.indexOf(':');
            if (at < 0) continue;
            info.putIfAbsent(line.substring(0, at).strip().toLowerCase(Locale.ROOT), line.substring(at + 1).strip());
        }
        return info;
    }

    static String cpuIdentity(Path root) {
        Map<String, String> info = cpuInfo(root);
        // x86 names vendor/family/model/stepping; ARM names implementer/part/revision.
        List<String> values = pick(info, "vendor_id", "cpu family", "model", "model name", "stepping");
        if (allEmpty(values)) {
            values = pick(info, "cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision");
        }
        return allEmpty(values) ? null : String.join("|", values);
    }

    private static boolean allEmpty(List<String> values) {
        for (String value : values) {
            if (!value.isEmpty()) return false;
        }
        return true;
    }

    private static List<String> pick(Map<String, String> info, String... fields) {
        List<String> out = new ArrayList<>();
        for (String f : fields) out.add(info.getOrDefault(f, ""));
        return out;
    }

    /** Bit 1 of the first octet is set by software (containers, VPNs, randomised Wi-Fi); bit 0 is multicast. */
    public static boolean isLocallyAdministered(String mac) {
        try {
            int colon = mac.indexOf(':');
            int first = Integer.parseInt(colon < 0 ? mac : mac.substring(0, colon), 16);
            return (first & 0x03) != 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    static String permanentMac(Path root) {
        Path net = root.resolve("sys/class/net");
        for (String name : list(net)) {
            if (virtualCard(name)) continue;
            Path iface = net.resolve(name);
            if (!exists(iface.resolve("device"))) continue; // no bus device behind it: virtual
            String assign = readText(iface.resolve("addr_assign_type"));
            if (!"0".equals(assign == null ? "0" : assign)) continue; // random or set by user space
            String mac = readText(iface.resolve("address"));
            mac = mac == null ? "" : mac.toLowerCase(Locale.ROOT);
            if (mac.length() != 17 || mac.equals("00:00:00:00:00:00") || isLocallyAdministered(mac)) continue;
            return mac;
        }
        return null;
    }

    private static boolean virtualCard(String name) {
        for (String prefix : VIRTUAL_NIC_PREFIXES) {
            if (name.startsWith(prefix)) return true;
        }
        return false;
    }

    /** "0+" matched, without a regular expression. */
    static boolean allZeros(String text) {
        if (text.isEmpty()) return false;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) != '0') return false;
        }
        return true;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** {@code Pattern.compile("\\s+").split(text)}, without a regular expression. */
    static String[] splitSpaces(String text) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        boolean split = false;
        for (int i = 0; i < text.length(); ) {
            if (!isSpace(text.charAt(i))) {
                i++;
                continue;
            }
            parts.add(text.substring(start, i));
            split = true;
            while (i < text.length() && isSpace(text.charAt(i))) i++;
            start = i;
        }
        if (!split) return new String[] {text};
        parts.add(text.substring(start));
        int size = parts.size();
        while (size > 0 && parts.get(size - 1).isEmpty()) size--; // as split drops trailing empty strings
        return parts.subList(0, size).toArray(new String[0]);
    }

    /**
     * {@code text} without the run of {@code c} it ends with, as {@code "/+$"} replaced by "": {@code $}
     * also matches before a final line terminator (a mount point may hold an escaped newline).
     */
    static String withoutTrailing(String text, char c) {
        int end = text.length();
        if (text.endsWith("\r\n")) {
            end -= 2;
        } else if (end > 0 && "\n\r\u0085\u2028\u2029".indexOf(text.charAt(end - 1)) >= 0) {
            end -= 1;
        }
        int cut = end;
        while (cut > 0 && text.charAt(cut - 1) == c) cut--;
        if (cut == end) {
            // Nothing before the terminator: "$" at the very end of the text.
            cut = text.length();
            while (cut > 0 && text.charAt(cut - 1) == c) cut--;
            return text.substring(0, cut);
        }
        return text.substring(0, cut) + text.substring(end);
    }

    /**
     * Token {@code n} (1 or more) of {@code text[from, to)} as {@link #splitSpaces} splits it, or null
     * when it has fewer: only the two tokens the mount table's reader needs, without splitting the line.
     */
    static String token(String text, int from, int to, int n) {
        int at = from;
        for (int k = 0; k < n; k++) {
            while (at < to && !isSpace(text.charAt(at))) at++;
            if (at == to) return null;
            while (at < to && isSpace(text.charAt(at))) at++;
        }
        int end = at;
        while (end < to && !isSpace(text.charAt(end))) end++;
        return end > at ? text.substring(at, end) : null; // empty only at the end, which split drops
    }

    private static String unescapeMount(String text) {
        return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    /** The device ({@code /dev/sda1}) of the mount holding {@code path}: the longest matching mount point. */
    static String mountSource(Path root, String path) {
        String best = null;
        int bestLen = -1;
        String text = readText(root.resolve("proc/self/mountinfo"), 1 << 20);
        if (text == null) return null;
        for (int start = 0, end; start < text.length(); start = end + 1) {
            end = text.indexOf('\n', start);
            if (end < 0) end = text.length();
            String line = text.substring(start, end);
            int sep = line.indexOf(" - ");
            if (sep < 0) continue;
            // The mount point (5th field before " - ") and the source (2nd after), as splitSpaces gives them.
            String field = token(line, 0, sep, 4);
            String source = token(line, sep + 3, line.length(), 1);
            if (field == null || source == null) continue;
            String point = unescapeMount(field);
            boolean inside = path.equals(point) || point.equals("/") || path.startsWith(withoutTrailing(point, '/') + "/");
            if (inside && point.length() > bestLen) {
                best = source;
                bestLen = point.length();
            }
        }
        return best;
    }

    private static String diskOfPartition(Path root, String name) {
        Path block = root.resolve("sys/block");
        if (isDirectory(block.resolve(name))) return name;
        for (String disk : list(block)) {
            if (isDirectory(block.resolve(disk).resolve(name))) return disk;
        }
        return null;
    }

    /** Serial of the physical disk holding {@code dataDir} (sysfs first, then /dev/disk/by-id). */
    static String diskSerial(Path root, String dataDir) {
        String source = mountSource(root, dataDir);
        if (source == null || !source.startsWith("/dev/")) return null; // overlay, tmpfs, network share
        String base = source.substring(source.lastIndexOf('/') + 1);
        if (base.isEmpty()) return null;
        String disk = diskOfPartition(root, base);
        if (disk == null) return null;
        Path device = root.resolve("sys/block").resolve(disk);
        for (String candidate : List.of("device/serial", "serial", "device/wwid")) {
            String value = DeviceAttributes.read(device.resolve(candidate));
            if (value != null && !value.isEmpty()) return value;
        }
        Path byId = root.resolve("dev/disk/by-id");
        for (String link : list(byId)) {
            if (NOT_A_DISK.matcher(link).matches() || link.contains("-part")) continue;
            try {
                Path target = Files.readSymbolicLink(byId.resolve(link));
                if (target.getFileName() != null && target.getFileName().toString().equals(disk)) return link;
            } catch (IOException | RuntimeException e) {
                continue;
            }
        }
        return null;
    }

    /** VM and container signals, e.g. {@code [dmi:qemu, cpu:hypervisor, docker]}; empty on bare metal. */
    static List<String> virtualSignals(Path root) {
        List<String> found = new ArrayList<>();
        for (String name : DMI_FILES) {
            String value = readText(root.resolve("sys/class/dmi/id").resolve(name));
            String lower = value == null ? "" : value.toLowerCase(Locale.ROOT);
            for (String vendor : HYPERVISOR_VENDORS) {
                if (lower.contains(vendor)) {
                    if (!found.contains("dmi:" + vendor)) found.add("dmi:" + vendor);
                    break;
                }
            }
        }
        String flags = cpuInfo(root).getOrDefault("flags", "");
        if (List.of(splitSpaces(flags)).contains("hypervisor")) found.add("cpu:hypervisor");
        if (exists(root.resolve(".dockerenv"))) found.add("docker");
        if (exists(root.resolve("run/.containerenv"))) found.add("podman");
        String cgroup = readText(root.resolve("proc/1/cgroup"));
        String lower = cgroup == null ? "" : cgroup.toLowerCase(Locale.ROOT);
        for (String name : CONTAINER_CGROUPS) {
            if (lower.contains(name)) {
                found.add("cgroup:" + name);
                break;
            }
        }
        return found;
    }
}
