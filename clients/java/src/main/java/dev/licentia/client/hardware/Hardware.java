package dev.licentia.client.hardware;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Reads this machine's raw identifiers with the reader for the operating system it runs on, picked
 * at run time from {@code os.name}: Linux (files under {@code /}, no subprocess), macOS
 * ({@code ioreg}, {@code uname}), Windows ({@code reg.exe}, {@code vol}), and for anything else the
 * CPU architecture and the first card's address. A reader never throws: what it cannot read is null.
 */
@FunctionalInterface
public interface Hardware {
    /** The raw identifiers, for the installation whose data directory is {@code dataDir} (absolute). */
    RawHardware read(String dataDir);

    /** The real machine. */
    static Hardware system() {
        return forOs(System.getProperty("os.name", ""), CommandRunner.SYSTEM, Interfaces.SYSTEM, Path.of("/"));
    }

    /** The Linux readers on a fake tree (tests, or a container's mounted root). */
    static Hardware linuxRoot(Path root) {
        return dataDir -> LinuxHardware.read(root, dataDir);
    }

    /** The reader for {@code osName} with these sources (tests pass recorded outputs). */
    static Hardware forOs(String osName, CommandRunner run, Interfaces interfaces, Path linuxRoot) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) return linuxRoot(linuxRoot);
        if (os.startsWith("windows")) {
            return dataDir -> WindowsHardware.read(run, System.getenv("SystemRoot"), dataDir, interfaces);
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) return dataDir -> MacHardware.read(run, interfaces);
        return dataDir -> new RawHardware(null, null, System.getProperty("os.arch"), interfaces.firstMac(), List.of());
    }
}
