package dev.licentia.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/** Durable small files: written whole or not at all, readable only by their owner. */
final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final boolean POSIX = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    private AtomicFiles() {}

    /**
     * Write to a temporary file (0600, created exclusively: never through a planted link), fsync
     * it, rename it over {@code path}, fsync the directory. A crash or power loss leaves the old file
     * or the new one, never half of one (which would lose the credential).
     */
    static void write(Path path, byte[] data) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        createPrivateDirectories(dir);
        byte[] suffix = new byte[6];
        RANDOM.nextBytes(suffix);
        Path tmp = dir.resolve(".tmp-" + HexFormat.of().formatHex(suffix));
        try {
            if (POSIX) {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.createFile(tmp);
            }
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buffer = ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) channel.write(buffer);
                channel.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // already renamed or never written
            }
            throw e instanceof IOException io ? io : new IOException(e);
        }
        fsyncDirectory(dir);
    }

    static void createPrivateDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        if (POSIX) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectories(dir);
        }
    }

    static void fsyncDirectory(Path dir) {
        if (!POSIX) return; // a directory cannot be opened on Windows; MoveFileEx is durable enough
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            // a file system without directory fsync: the rename is still atomic
        }
    }

    /**
     * At most {@code limit} bytes of a regular file, never through a link and never waiting on a
     * FIFO; null for anything else (missing, a directory, larger than the limit).
     */
    static byte[] readSmall(Path path, int limit) {
        try {
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) return null;
            try (InputStream in = Files.newInputStream(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                byte[] raw = in.readNBytes(limit + 1);
                return raw.length <= limit ? raw : null;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Whether the failure is a missing file (and not damage or a permission problem). */
    static boolean missing(Path path) {
        return !Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }

    static String describe(IOException e) {
        return e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : String.valueOf(e.getMessage());
    }
}
