package dev.licentia.client.hardware;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Device attributes whose read asks the device itself (a virtio disk's serial costs more than most
 * of an offline check), remembered for the life of the process keyed by the attribute file's
 * identity: its path, device and inode, and modification time, asked at every read, so a replaced
 * disk (a new sysfs node) is read afresh. Never kept on disk: a value kept in the data directory
 * would travel with a copy of it to other hardware. As the Python SDK's {@code read_attribute} and
 * the C and Go clients.
 */
final class DeviceAttributes {
    private static final int MAX_KEPT = 64;
    private static final Map<Key, Optional<String>> KEPT = new ConcurrentHashMap<>();

    private DeviceAttributes() {}

    private record Key(String path, Object fileKey, FileTime modified) {}

    /** {@link LinuxHardware#readText(Path)} of {@code path}, read again only when the file is another. */
    static String read(Path path) {
        if (!LinuxHardware.exists(path)) return null;
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (attributes.fileKey() == null) return LinuxHardware.readText(path); // nothing to know it by
        Key key = new Key(path.toString(), attributes.fileKey(), attributes.lastModifiedTime());
        Optional<String> kept = KEPT.get(key);
        if (kept == null) {
            if (KEPT.size() >= MAX_KEPT) KEPT.clear();
            kept = Optional.ofNullable(LinuxHardware.readText(path));
            KEPT.put(key, kept);
        }
        return kept.orElse(null);
    }
}
