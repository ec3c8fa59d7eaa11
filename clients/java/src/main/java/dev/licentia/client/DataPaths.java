package dev.licentia.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The text the data path hash is taken of: what Python's {@code str(pathlib.Path(data_dir).absolute())}
 * makes on the OS, so one installation hashes alike from every client. A relative path is joined to
 * the working directory; separators become the OS's own, repeated ones, {@code .} parts and a
 * trailing one are dropped; {@code ..}, the case and a leading {@code //} (POSIX) or
 * {@code \\server\share} (Windows) are kept; nothing resolves links, {@code ~} or {@code ..}.
 */
public final class DataPaths {
    private DataPaths() {}

    static boolean windows() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
    }

    /** For this process: its OS and its working directory. */
    static String absolute(String dataDir) {
        return absolute(windows(), System.getProperty("user.dir"), dataDir);
    }

    /** The text for {@code dataDir} on Windows ({@code windows}) or POSIX, relative to the working directory {@code cwd}. */
    public static String absolute(boolean windows, String cwd, String dataDir) {
        return windows ? windowsAbsolute(cwd, dataDir) : posixAbsolute(cwd, dataDir);
    }

    private static String posixAbsolute(String cwd, String dataDir) {
        String path = dataDir.startsWith("/") ? dataDir : cwd + "/" + dataDir;
        // pathlib keeps exactly two leading slashes (implementation-defined in POSIX); three or more are one.
        String root = path.startsWith("//") && !path.startsWith("///") ? "//" : "/";
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/", -1)) {
            if (!part.isEmpty() && !part.equals(".")) parts.add(part);
        }
        return root + String.join("/", parts);
    }

    /** A Windows path split as pathlib does: drive ({@code C:} or {@code \\server\share}), whether rooted, parts. */
    private record WinPath(String drive, boolean rooted, List<String> parts) {}

    private static WinPath parseWindows(String text) {
        String p = text.replace('/', '\\');
        String drive = "";
        String rest = p;
        if (p.startsWith("\\\\") && !p.startsWith("\\\\\\")) {
            String[] unc = p.substring(2).split("\\\\", -1);
            if (unc.length >= 2 && !unc[0].isEmpty() && !unc[1].isEmpty()) {
                drive = "\\\\" + unc[0] + "\\" + unc[1];
                rest = p.substring(drive.length());
            }
        } else if (p.length() >= 2 && p.charAt(1) == ':' && Character.isLetter(p.charAt(0))) {
            drive = p.substring(0, 2);
            rest = p.substring(2);
        }
        boolean rooted = rest.startsWith("\\") || (drive.startsWith("\\\\"));
        List<String> parts = new ArrayList<>();
        for (String part : rest.split("\\\\", -1)) {
            if (!part.isEmpty() && !part.equals(".")) parts.add(part);
        }
        return new WinPath(drive, rooted, parts);
    }

    private static String windowsAbsolute(String cwd, String dataDir) {
        WinPath given = parseWindows(dataDir);
        WinPath base = parseWindows(cwd);
        WinPath full;
        if (!given.drive().isEmpty() && given.rooted()) {
            full = given;
        } else if (given.rooted()) {
            full = new WinPath(base.drive(), true, given.parts()); // rooted without a drive: the working directory's drive
        } else if (!given.drive().isEmpty() && !given.drive().equalsIgnoreCase(base.drive())) {
            full = new WinPath(given.drive(), true, given.parts()); // another drive's relative path: from its root
        } else {
            List<String> parts = new ArrayList<>(base.parts());
            parts.addAll(given.parts());
            full = new WinPath(base.drive(), true, parts);
        }
        return full.drive() + "\\" + String.join("\\", full.parts());
    }
}
