package dev.licentia.client.hardware;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Windows readers. The registry through {@code reg.exe query} (the documented command-line view of
 * {@code RegQueryValueEx}) and the volume serial through {@code cmd.exe /d /c vol}
 * ({@code GetVolumeInformationW}); values in the Python SDK's forms (MachineGuid, 8 hex digits,
 * vendor|identifier|name). Parsing is pure and tested on recorded outputs.
 */
public final class WindowsHardware {
    private static final Pattern REG_LINE = Pattern.compile("^\\s{2,}(\\S(?:.*?\\S)?)\\s{2,}(REG_\\w+)\\s{2,}(.*?)\\s*$");
    private static final Pattern REG_LINE_LOOSE = Pattern.compile("^\\s{2,}(\\S+)\\s+(REG_\\w+)\\s+(.*?)\\s*$");
    private static final Pattern VOL = Pattern.compile("([0-9A-F]{4})-([0-9A-F]{4})\\s*$",
            Pattern.CASE_INSENSITIVE | Pattern.MULTILINE);

    private WindowsHardware() {}

    public static RawHardware read(CommandRunner run, String systemRoot, String dataDir, Interfaces interfaces) {
        Map<String, String> cpu = registry(run, systemRoot, "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0");
        String volume = volumeRoot(dataDir, System.getProperty("user.dir"));
        String serial = parseVolSerial(run.run(system32(systemRoot) + "cmd.exe", List.of("/d", "/c", "vol", volume.replaceAll("\\\\$", ""))));
        Reading reading = hardware(registry(run, systemRoot, "SOFTWARE\\Microsoft\\Cryptography").get("machineguid"),
                serial == null ? 0 : Long.parseLong(serial, 16),
                java.util.Arrays.asList(cpu.get("vendoridentifier"), cpu.get("identifier"), cpu.get("processornamestring")),
                System.getenv("PROCESSOR_ARCHITECTURE"), System.getenv("PROCESSOR_IDENTIFIER"), null, dataDir,
                System.getProperty("user.dir"));
        RawHardware raw = reading.raw();
        // Python takes uuid.getnode(); here the first network card by name (NetworkInterface), the same card in practice.
        return new RawHardware(raw.machine(), raw.disk(), raw.cpu(), interfaces.firstMac(), List.of());
    }

    /** The raw values and the volume root whose serial was read. */
    public record Reading(RawHardware raw, String volume) {}

    /**
     * The raw values from what Windows gave (a pure function: the conformance vectors feed it
     * recorded values): each registry value trimmed, blank as absent; the serial as eight upper-case
     * hex digits (null for 0), read on the volume of the data directory made absolute; the CPU's three
     * values joined by {@code |} when any is present, else {@code machine|processor}; the node's MAC.
     *
     * @param cpu VendorIdentifier, Identifier, ProcessorNameString (each may be null)
     */
    public static Reading hardware(String machineGuid, long volumeSerial, List<String> cpu, String machine,
            String processor, Long node, String dataDir, String cwd) {
        String serial = volumeSerial == 0 ? null : String.format("%08X", volumeSerial & 0xFFFFFFFFL);
        boolean any = false;
        String[] parts = new String[3];
        for (int i = 0; i < 3; i++) {
            String v = i < cpu.size() ? nonBlank(cpu.get(i)) : null;
            parts[i] = v == null ? "" : v;
            any |= v != null;
        }
        String cpuText = any ? String.join("|", parts) : MacHardware.parseCpu(machine, processor);
        RawHardware raw = new RawHardware(nonBlank(machineGuid), serial, cpuText, Interfaces.macOfNode(node), List.of());
        return new Reading(raw, volumeRoot(dataDir, cwd));
    }

    /** The root of the volume holding the data directory: its drive ({@code C:\}) or share ({@code \\server\share\}). */
    public static String volumeRoot(String dataDir, String cwd) {
        String absolute = dev.licentia.client.DataPaths.absolute(true, cwd == null ? "C:\\" : cwd, dataDir == null ? "" : dataDir);
        if (absolute.startsWith("\\\\")) {
            String[] unc = absolute.substring(2).split("\\\\", -1);
            return unc.length >= 2 ? "\\\\" + unc[0] + "\\" + unc[1] + "\\" : "C:\\";
        }
        return absolute.length() >= 2 && absolute.charAt(1) == ':' ? absolute.substring(0, 2) + "\\" : "C:\\";
    }

    private static String system32(String systemRoot) {
        String root = systemRoot == null || systemRoot.isBlank() ? "C:\\Windows" : systemRoot;
        return root.replaceAll("[\\\\/]+$", "") + "\\System32\\";
    }

    /** Values of one registry key from {@code reg query} output ({@code    Name    REG_SZ    value}), names lower-cased. */
    public static Map<String, String> parseRegQuery(String output) {
        Map<String, String> values = new LinkedHashMap<>();
        if (output == null) return values;
        for (String line : output.split("\r?\n")) {
            Matcher m = REG_LINE.matcher(line);
            if (!m.matches()) m = REG_LINE_LOOSE.matcher(line);
            if (m.matches()) values.put(m.group(1).toLowerCase(Locale.ROOT), m.group(3));
        }
        return values;
    }

    static Map<String, String> registry(CommandRunner run, String systemRoot, String key) {
        return parseRegQuery(run.run(system32(systemRoot) + "reg.exe", List.of("query", "HKLM\\" + key, "/reg:64")));
    }

    private static String nonBlank(String value) {
        return value == null || value.strip().isEmpty() ? null : value.strip();
    }

    static String machineGuid(CommandRunner run, String systemRoot) {
        return nonBlank(registry(run, systemRoot, "SOFTWARE\\Microsoft\\Cryptography").get("machineguid"));
    }

    /** {@code vol} prints the serial as {@code 1A2B-3C4D} after a localised label; the Python SDK writes {@code 1A2B3C4D}. */
    public static String parseVolSerial(String output) {
        if (output == null) return null;
        Matcher m = VOL.matcher(output.strip());
        if (!m.find()) return null;
        String serial = (m.group(1) + m.group(2)).toUpperCase(Locale.ROOT);
        return serial.equals("00000000") ? null : serial;
    }

    /** The drive ({@code C:}) of a Windows path, or null for a UNC share (no volume of this machine). */
    public static String driveOf(String dataDir) {
        if (dataDir != null && dataDir.length() >= 2 && Character.isLetter(dataDir.charAt(0)) && dataDir.charAt(1) == ':') {
            return dataDir.substring(0, 2).toUpperCase(Locale.ROOT);
        }
        return null;
    }

    static String volumeSerial(CommandRunner run, String systemRoot, String dataDir) {
        String drive = driveOf(dataDir);
        if (drive == null) return null;
        return parseVolSerial(run.run(system32(systemRoot) + "cmd.exe", List.of("/d", "/c", "vol", drive)));
    }

    /** {@code VendorIdentifier|Identifier|ProcessorNameString} from the CentralProcessor\0 key's values. */
    public static String parseCpu(Map<String, String> values) {
        String[] parts = {values.getOrDefault("vendoridentifier", ""), values.getOrDefault("identifier", ""),
                values.getOrDefault("processornamestring", "")};
        boolean any = false;
        for (int i = 0; i < parts.length; i++) {
            parts[i] = parts[i].strip();
            any |= !parts[i].isEmpty();
        }
        return any ? String.join("|", parts) : null;
    }

    static String cpuIdentity(CommandRunner run, String systemRoot) {
        return parseCpu(registry(run, systemRoot, "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0"));
    }

    /** RegisteredOwner and RegisteredOrganization (client facts, when the application asks for them). */
    public static String[] registeredOwner(CommandRunner run, String systemRoot) {
        Map<String, String> values = registry(run, systemRoot, "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion");
        return new String[] {nonBlank(values.get("registeredowner")), nonBlank(values.get("registeredorganization"))};
    }
}
