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

    /**
     * What an offline check matches: the components, the virtual signals left out when they cost a
     * read (only the server judges them, online). By default {@link #read(String)}.
     */
    default RawHardware readComponents(String dataDir) {
        return read(dataDir);
    }

    /**
     * The real machine. On Linux the files are read afresh on every call (cheap, no subprocess; a
     * disk's serial, which asks the device, when its sysfs node changed: {@code DeviceAttributes}); on
     * macOS and Windows the commands run once per data directory for the life of the process (a
     * subprocess per check would cost more than the check), never kept on disk (a value kept in the
     * data directory would travel with a copy of it).
     */
    static Hardware system() {
        String os = System.getProperty("os.name", "");
        Hardware reader = forOs(os, CommandRunner.SYSTEM, Interfaces.SYSTEM, Path.of("/"));
        return os.toLowerCase(Locale.ROOT).startsWith("linux") ? reader : cached(reader);
    }

    /** {@code reader}, asked once per data directory for the life of this object. */
    static Hardware cached(Hardware reader) {
        java.util.Map<String, RawHardware> seen = new java.util.concurrent.ConcurrentHashMap<>();
        return dataDir -> seen.computeIfAbsent(dataDir, reader::read);
    }

    /** The Linux readers on a fake tree (tests, or a container's mounted root). */
    static Hardware linuxRoot(Path root) {
        return new Hardware() {
            @Override
            public RawHardware read(String dataDir) {
                return LinuxHardware.read(root, dataDir);
            }

            @Override
            public RawHardware readComponents(String dataDir) {
                return LinuxHardware.readComponents(root, dataDir);
            }
        };
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
