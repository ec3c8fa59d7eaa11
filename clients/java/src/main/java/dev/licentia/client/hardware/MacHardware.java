package dev.licentia.client.hardware;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * macOS readers: {@code IOPlatformUUID} from {@code /usr/sbin/ioreg} (the IOKit registry's documented
 * command) and the CPU as Python's {@code platform.machine()|platform.processor()}, i.e.
 * {@code uname -m} and {@code uname -p}. Parsing is pure and tested on recorded outputs.
 */
public final class MacHardware {
    private static final Pattern UUID = Pattern.compile("\"IOPlatformUUID\"\\s*=\\s*\"([0-9A-Fa-f-]+)\"");

    private MacHardware() {}

    public static RawHardware read(CommandRunner run, Interfaces interfaces) {
        return new RawHardware(platformUuid(run), null, cpuIdentity(run), interfaces.firstMac(), List.of());
    }

    /**
     * The raw values from what a Mac gave (a pure function: the conformance vectors feed it recorded
     * outputs): the first {@code IOPlatformUUID} as printed, no disk, {@code machine|processor}
     * without the empty ones, and the MAC address of {@code node} (null: made up or set by software).
     */
    public static RawHardware hardware(String ioreg, String machine, String processor, Long node) {
        return new RawHardware(parsePlatformUuid(ioreg), null, parseCpu(machine, processor), Interfaces.macOfNode(node), List.of());
    }

    /** The IOPlatformUUID in {@code ioreg -rd1 -c IOPlatformExpertDevice} output, or null. */
    public static String parsePlatformUuid(String output) {
        if (output == null) return null;
        Matcher m = UUID.matcher(output);
        return m.find() ? m.group(1) : null;
    }

    static String platformUuid(CommandRunner run) {
        return parsePlatformUuid(run.run("/usr/sbin/ioreg", List.of("-rd1", "-c", "IOPlatformExpertDevice")));
    }

    /** {@code machine|processor} from the two outputs of uname (either may be null), or null when both are empty. */
    public static String parseCpu(String machine, String processor) {
        String m = machine == null ? "" : machine.strip();
        String p = processor == null ? "" : processor.strip();
        if (m.isEmpty() && p.isEmpty()) return null;
        if (m.isEmpty()) return p;
        return p.isEmpty() ? m : m + "|" + p;
    }

    static String cpuIdentity(CommandRunner run) {
        return parseCpu(run.run("/usr/bin/uname", List.of("-m")), run.run("/usr/bin/uname", List.of("-p")));
    }
}
