package dev.licentia.client;

import dev.licentia.client.hardware.CommandRunner;
import dev.licentia.client.hardware.WindowsHardware;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Client facts: optional context sent with checks and events as evidence. Off unless the
 * application turns them on (a list of names, or all); the vendor chooses which and must disclose
 * them. {@code DO_NOT_TRACK=1}, {@code LICENTIA_NO_FACTS=1} or the user's stored opt-out
 * ({@link Licentia#optOutOfFacts(boolean)}) turn them off whatever the application says.
 * Collecting them makes no network traffic. Same names and forms as the Python SDK.
 */
final class Facts {
    /** Every fact an application may ask for. */
    static final List<String> NAMES = List.of("computer_name", "user_name", "domain", "os_name", "os_version",
            "internal_ip", "local_time", "time_zone", "locale", "country", "registered_owner", "registered_organization");
    static final int MAX_FREE_FIELDS = 10;
    private static final int MAX_VALUE_LENGTH = 500; // the server refuses longer values

    private Facts() {}

    /** Tabs and newlines escaped, so one fact stays one field in exports. */
    static String escape(String value) {
        String out = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
        return out.length() > MAX_VALUE_LENGTH ? out.substring(0, MAX_VALUE_LENGTH) : out;
    }

    static boolean disabledByEnvironment(Map<String, String> env) {
        for (String name : List.of("DO_NOT_TRACK", "LICENTIA_NO_FACTS")) {
            String v = env.getOrDefault(name, "").strip().toLowerCase(Locale.ROOT);
            if (v.equals("1") || v.equals("true") || v.equals("yes")) return true;
        }
        return false;
    }

    static String osDescription() {
        return (osName() + " " + System.getProperty("os.version", "")).strip();
    }

    /** Python's {@code platform.system()} words. */
    static String osName() {
        String os = System.getProperty("os.name", "");
        if (os.startsWith("Windows")) return "Windows";
        if (os.startsWith("Mac")) return "Darwin";
        return os;
    }

    private static String quiet(Supplier<String> read) {
        try {
            String v = read.get();
            return v == null || v.isEmpty() ? null : v;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static boolean windows() {
        return System.getProperty("os.name", "").startsWith("Windows");
    }

    private static String hostName() {
        String env = System.getenv(windows() ? "COMPUTERNAME" : "HOSTNAME");
        if (env != null && !env.isEmpty()) return env;
        try {
            String name = Files.readString(Path.of("/etc/hostname")).strip();
            if (!name.isEmpty()) return name;
        } catch (java.io.IOException | RuntimeException e) {
            // fall through
        }
        try {
            return InetAddress.getLocalHost().getHostName(); // from the hosts file first: no DNS query on a named host
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static String locale() {
        String lang = System.getenv("LC_ALL");
        if (lang == null || lang.isEmpty()) lang = System.getenv("LANG");
        if (lang != null && !lang.isEmpty() && !lang.equals("C") && !lang.equals("POSIX")) return lang.split("\\.")[0];
        Locale l = Locale.getDefault();
        return l.getCountry().isEmpty() ? l.getLanguage() : l.getLanguage() + "_" + l.getCountry();
    }

    private static Map<String, Supplier<String>> readers(CommandRunner run) {
        Map<String, Supplier<String>> r = new LinkedHashMap<>();
        r.put("computer_name", Facts::hostName);
        r.put("user_name", () -> System.getProperty("user.name"));
        r.put("domain", () -> {
            if (windows()) {
                String d = System.getenv("USERDNSDOMAIN");
                return d != null && !d.isEmpty() ? d : System.getenv("USERDOMAIN");
            }
            String node = hostName();
            return node == null || !node.contains(".") ? null : node.substring(node.indexOf('.') + 1);
        });
        r.put("os_name", Facts::osName);
        r.put("os_version", () -> System.getProperty("os.version"));
        r.put("internal_ip", () -> {
            // connect() on a UDP socket picks a route and a source address without sending a packet.
            try (DatagramSocket socket = new DatagramSocket()) {
                socket.connect(new InetSocketAddress("192.0.2.1", 9)); // TEST-NET-1: never routed to anyone
                InetAddress local = socket.getLocalAddress();
                return local == null || local.isAnyLocalAddress() ? null : local.getHostAddress();
            } catch (java.io.IOException | RuntimeException e) {
                return null;
            }
        });
        r.put("local_time", () -> ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z", Locale.ROOT)));
        r.put("time_zone", () -> java.util.TimeZone.getDefault().getID());
        r.put("locale", Facts::locale);
        r.put("country", () -> {
            String l = locale();
            int at = l == null ? -1 : l.indexOf('_');
            return at < 0 ? null : l.substring(at + 1).toUpperCase(Locale.ROOT);
        });
        // reg.exe runs only when the application asked for these two facts.
        r.put("registered_owner", () -> windows() ? WindowsHardware.registeredOwner(run, System.getenv("SystemRoot"))[0] : null);
        r.put("registered_organization", () -> windows() ? WindowsHardware.registeredOwner(run, System.getenv("SystemRoot"))[1] : null);
        return r;
    }

    /** Refuse unknown names and too many free fields (at construction, not at the first check). */
    static void validate(List<String> names, List<String> authors, List<String> trackers) {
        for (String name : names) {
            if (!NAMES.contains(name)) throw new ConfigurationException("unknown fact " + name + "; known: " + String.join(", ", NAMES));
        }
        if (authors.size() > MAX_FREE_FIELDS) throw new ConfigurationException("at most " + MAX_FREE_FIELDS + " author fields");
        if (trackers.size() > MAX_FREE_FIELDS) throw new ConfigurationException("at most " + MAX_FREE_FIELDS + " tracker fields");
    }

    /** Read the named facts plus {@code author_N} and {@code tracker_N} fields. */
    static Map<String, String> collect(List<String> names, List<String> authors, List<String> trackers, CommandRunner run) {
        validate(names, authors, trackers);
        Map<String, String> facts = new LinkedHashMap<>();
        Map<String, Supplier<String>> readers = readers(run);
        for (String name : names) {
            String value = quiet(readers.get(name));
            if (value != null) facts.put(name, escape(value));
        }
        for (int i = 0; i < authors.size(); i++) {
            if (authors.get(i) != null && !authors.get(i).isEmpty()) facts.put("author_" + (i + 1), escape(authors.get(i)));
        }
        for (int i = 0; i < trackers.size(); i++) {
            if (trackers.get(i) != null && !trackers.get(i).isEmpty()) facts.put("tracker_" + (i + 1), escape(trackers.get(i)));
        }
        return facts;
    }
}
