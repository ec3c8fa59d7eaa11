package dev.licentia.client;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Clock-rollback witnesses: the latest local time an installation is known to have seen. Offline,
 * only the local clock says what time it is, and winding it back stretches a trial or a lease.
 * Several independent witnesses say how late it has been: the sealed {@code last_seen}, and the
 * modification times of the state file, the event queue and the data directory (read on the file
 * system's clock, set right by the skew last measured). Same rules as the Python SDK's
 * {@code witnesses.py}, with this SDK's queue folder in place of its database.
 */
final class Witnesses {
    private Witnesses() {}

    /** How far the clock must have moved before an offline check writes the time seen again. */
    static final Duration STEP = Duration.ofSeconds(600);

    /** Offline: the clock was wound back when {@code now} + tolerance is before the latest time seen. */
    static boolean rolledBack(Instant latest, Instant now, Duration tolerance) {
        return latest != null && now.plus(tolerance).isBefore(latest);
    }

    /**
     * Offline, after a check whose document verifies: the time seen to seal. {@code now} when there
     * was none or it is more than {@link #STEP} later; else the one kept (a clock a little behind
     * never moves it back). Online, a bound answer seals {@code now} whatever it was.
     */
    static String seenOffline(String lastSeen, Instant now) {
        Instant kept = Times.parseOrNull(lastSeen);
        return kept == null || Duration.between(kept, now).compareTo(STEP) > 0 ? Times.toIso(now) : lastSeen;
    }

    static List<Path> paths(Licentia lic) {
        return List.of(lic.stateFile.path, lic.queue.dir, lic.dataDir);
    }

    /** The latest of {@code lastSeen} and the witnesses' modification times, in local time; null when none. */
    static Instant latest(Licentia lic, Instant lastSeen, long skewSeconds) {
        Instant latest = lastSeen;
        for (Path path : paths(lic)) {
            // A witness not there yet (no event queued) is common: asked without an exception, which costs more than the stat.
            if (path.getFileSystem() == FileSystems.getDefault() && !path.toFile().exists()) continue;
            try {
                Instant modified = Files.getLastModifiedTime(path).toInstant().minusSeconds(skewSeconds);
                if (latest == null || modified.isAfter(latest)) latest = modified;
            } catch (IOException | RuntimeException e) {
                continue;
            }
        }
        return latest;
    }

    /**
     * After an answer bound to its request, bring back file times a clock once far ahead left, so a
     * clock that ran days ahead and was put right does not deny offline checks until real time catches
     * up. Safe whatever the local clock says: the bound answer measured the clock's offset too.
     */
    static void settle(Licentia lic, Instant now, Duration tolerance, long skewSeconds) {
        Instant limit = now.plus(tolerance).plusSeconds(skewSeconds);
        FileTime stamp = FileTime.from(now.plusSeconds(skewSeconds));
        for (Path path : paths(lic)) {
            try {
                if (Files.getLastModifiedTime(path).toInstant().isAfter(limit)) Files.setLastModifiedTime(path, stamp);
            } catch (IOException | RuntimeException e) {
                continue;
            }
        }
    }

    /** Seconds from the local clock to the file system's, measured on the state file just written; true when it changed. */
    static boolean measureSkew(Licentia lic, State state) {
        try {
            Instant written = Files.getLastModifiedTime(lic.stateFile.path).toInstant();
            long skew = Duration.between(lic.now(), written).toSeconds();
            // Within a minute it is the same clock; only a real difference (another clock) is kept.
            long kept = Math.abs(skew) <= 60 || !Times.usableOffset(skew) ? 0 : skew;
            if (Math.abs(kept - state.fileClockSkew) <= 60 && (kept == 0) == (state.fileClockSkew == 0)) return false;
            state.fileClockSkew = kept;
            return true;
        } catch (IOException | RuntimeException e) {
            return false; // no file time: no skew
        }
    }
}
