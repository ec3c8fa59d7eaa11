package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The durable event queue: one file per event in {@code <dataDir>/events/}.
 *
 * <p>An event is on disk (written atomically, 0600, fsynced) before {@link #add} returns, and leaves
 * the disk only after the server acknowledged it. Each carries a client event id the server
 * deduplicates on, so re-sending after a lost answer or a killed process is harmless: nothing is
 * lost, nothing is counted twice. A crash leaves whole files only (a temporary file is never
 * named {@code *.json}); a damaged file is dropped, it could never be sent. File names sort in the
 * order events were added. Thread-safe, and several processes may share the folder.
 */
public final class EventQueue {
    static final String DIR = "events";
    /** What an application may report; the server records the other kinds itself. */
    public static final Set<String> KINDS = Set.of(EventKinds.INSTALL, EventKinds.REGISTER, EventKinds.USAGE,
            EventKinds.UNINSTALL, EventKinds.FEEDBACK, EventKinds.UPGRADE);
    private static final int MAX_BATCH = 200; // the server's limit per call
    private static final int MAX_EVENT_BYTES = 64 * 1024;
    private static final long BACKOFF_START_MS = 200;
    private static final long BACKOFF_CAP_MS = 5000;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final AtomicLong COUNTER = new AtomicLong();

    final Path dir;

    EventQueue(Path dataDir) {
        this.dir = dataDir.resolve(DIR);
    }

    private List<Path> files() {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    /** Queue an event of a reported kind; its id. {@link ConfigurationException} when the disk refuses it. */
    String add(String kind, Instant occurredAt, ObjectNode data, Map<String, String> facts) {
        if (!KINDS.contains(kind)) throw new ConfigurationException("unknown event kind " + kind);
        byte[] raw = new byte[16];
        RANDOM.nextBytes(raw);
        String id = HexFormat.of().formatHex(raw);
        ObjectNode event = Json.object();
        event.put("id", id);
        event.put("kind", kind);
        event.put("occurred_at", Times.toIso(occurredAt));
        event.set("data", data == null ? Json.object() : data);
        ObjectNode factNode = event.putObject("facts");
        facts.forEach(factNode::put);
        byte[] bytes = Json.write(event);
        if (bytes.length > MAX_EVENT_BYTES) throw new ConfigurationException("an event is at most 64 KiB");
        String order = String.format("%015d-%06d", System.currentTimeMillis(), COUNTER.getAndIncrement() % 1_000_000);
        try {
            AtomicFiles.write(dir.resolve(order + "-" + id + ".json"), bytes);
        } catch (IOException e) {
            throw new ConfigurationException("cannot queue the event in " + dir + ": " + AtomicFiles.describe(e), e);
        }
        return id;
    }

    record Pending(Path file, ObjectNode event) {}

    /** Queued events in order, up to {@code limit}; a damaged file is removed (it could never be sent). */
    List<Pending> pending(int limit) {
        List<Pending> out = new ArrayList<>();
        for (Path file : files()) {
            if (out.size() >= limit) break;
            byte[] raw = AtomicFiles.readSmall(file, MAX_EVENT_BYTES);
            if (raw == null && Files.notExists(file)) continue; // sent by another process meanwhile
            try {
                JsonNode event = raw == null ? null : Json.parse(raw);
                if (event instanceof ObjectNode o && Json.text(o, "id") != null && KINDS.contains(Json.text(o, "kind"))
                        && Json.text(o, "occurred_at") != null && Json.obj(o, "data") != null && Json.obj(o, "facts") != null) {
                    out.add(new Pending(file, o));
                    continue;
                }
            } catch (Json.JsonException e) {
                // unreadable: fall through and remove it
            }
            remove(List.of(file));
        }
        return out;
    }

    /** How many events wait to be sent. */
    public int count() {
        return files().size();
    }

    private void remove(List<Path> files) {
        for (Path file : files) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException | RuntimeException e) {
                // already gone, or cannot go: it is sent again, and the server deduplicates it
            }
        }
    }

    /**
     * Send queued events in batches until the queue is empty or {@code deadline} (System.nanoTime)
     * passes. Offline, 429 and 5xx are retried with exponential backoff and jitter within the deadline.
     * {@code trail}: the product whose proxy-log trail is on (null: off); each batch's trail GETs go
     * before its POST ({@link Trail}), again when the POST is retried.
     */
    FlushResult flush(Transport transport, Answers.Credential credential, long deadline) {
        return flush(transport, credential, deadline, null);
    }

    FlushResult flush(Transport transport, Answers.Credential credential, long deadline, String trail) {
        int sent = 0;
        int duplicates = 0;
        int dropped = 0;
        int retries = 0;
        long backoff = BACKOFF_START_MS;
        if (credential == null) return new FlushResult(0, 0, 0, count());
        while (System.nanoTime() < deadline) {
            List<Pending> pending = pending(100);
            if (pending.isEmpty()) break;
            List<Pending> batch = new ArrayList<>();
            String path;
            ObjectNode body = Json.object();
            if (EventKinds.FEEDBACK.equals(Json.text(pending.get(0).event(), "kind"))) {
                // One feedback alone, to /v1/feedback (its text may be long).
                ObjectNode event = pending.get(0).event();
                ObjectNode data = Json.obj(event, "data");
                String text = Json.text(data, "text");
                body.put("id", Json.text(event, "id"));
                body.put("text", text == null || text.isEmpty() ? "-" : text);
                body.put("email", Json.text(data, "email"));
                body.set("facts", event.get("facts"));
                batch.add(pending.get(0));
                path = "/v1/feedback";
            } else {
                ArrayNode events = body.putArray("events");
                for (Pending p : pending) {
                    if (EventKinds.FEEDBACK.equals(Json.text(p.event(), "kind"))) break;
                    batch.add(p);
                    events.add(p.event());
                }
                path = "/v1/events";
                if (trail != null) Trail.send(transport, trail, batch.stream().map(Pending::event).toList(), deadline);
            }
            long wait;
            try {
                Duration left = Duration.ofNanos(deadline - System.nanoTime());
                JsonNode answer = transport.request(Transport.Call.post(path, body, credential), left);
                // Acknowledged: only now may the events leave the disk.
                remove(batch.stream().map(Pending::file).toList());
                sent += batch.size();
                Long dup = Json.integer(answer, "duplicates");
                duplicates += dup == null ? 0 : (int) Math.max(0, Math.min(batch.size(), dup));
                retries = 0;
                backoff = BACKOFF_START_MS;
                continue;
            } catch (ServerRefusedException e) {
                if (ErrorCodes.VALIDATION_ERROR.equals(e.code())) {
                    // Malformed events would block the queue for ever; nothing can fix them.
                    remove(batch.stream().map(Pending::file).toList());
                    dropped += batch.size();
                    continue;
                }
                if (e.status() != 429) throw e;
                wait = e.retryAfter() != null ? e.retryAfter() * 1000 : backoff;
            } catch (OfflineException e) {
                wait = backoff;
            }
            retries++;
            wait = (long) (wait * (0.5 + ThreadLocalRandom.current().nextDouble() / 2)); // clients must not retry in step
            if (retries > 5 || System.nanoTime() + wait * 1_000_000 >= deadline) break;
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            backoff = Math.min(backoff * 2, BACKOFF_CAP_MS);
        }
        return new FlushResult(sent, duplicates, dropped, count());
    }
}
