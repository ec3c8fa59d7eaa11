package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.CommandRunner;
import dev.licentia.client.hardware.Hardware;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Licensing for one product inside one application: create one with {@link #builder()} and ask
 * {@link #check()} at start.
 *
 * <p>Nothing signed by any key but the pinned ones (or keys they endorsed) is ever trusted, and
 * nothing is granted beyond what a verified document says. Every method throws only
 * {@link LicentiaException}s (unchecked), and {@link #check()} throws nothing at all.
 *
 * <p><b>Thread-safe.</b> One instance may be shared by every thread of the application: calls that
 * read or write the data directory run one at a time (a lock), so two overlapping checks never
 * interleave their state writes. Several processes may share one data directory: every file is
 * replaced atomically. Values returned ({@link Status}, {@link Consumption}, {@link Fingerprint})
 * are immutable.
 *
 * <p>Nullability: parameters are non-null unless documented otherwise; methods documented as
 * "or null" return a platform type that Kotlin callers should treat as nullable.
 */
public final class Licentia {
    /** This client's version (Maven's project version). */
    public static final String VERSION = readVersion();
    /** The version of the public API this client speaks ({@code /v1/...}, documents {@code "v": 1}). */
    public static final int PROTOCOL_VERSION = 1;
    /** Sent with every request, so the server's logs tell clients and versions apart: {@code licentia-client-java/<version> (protocol <n>; java <version>)}. */
    public static final String USER_AGENT = "licentia-client-java/" + VERSION + " (protocol " + PROTOCOL_VERSION + "; java "
            + Runtime.version().feature() + ")";
    /** How long an online call may take before the SDK decides offline. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);

    final String product;
    final Path dataDir;
    final String dataPathHash;
    final Transport transport;
    final Signing.PinnedKeys keys;
    final Clock clock;
    final Duration rollbackTolerance;
    final State.StateFile stateFile;
    final EventQueue queue;
    final Escrow escrow;
    final String appVersion;
    final String channel;
    final Path installerTicket; // sent at first contact only
    private final Hardware hardware;
    private final CommandRunner commands;
    private final List<String> factNames;
    private final List<String> authors;
    private final List<String> trackers;
    private final Map<String, String> environment;
    private final ReentrantLock lock = new ReentrantLock();
    private Map<String, String> cachedFacts;

    Licentia(LicentiaBuilder b) {
        if (b.product == null || !b.product.matches("[a-z0-9-]+") || !b.product.matches(".*[a-z0-9].*")) {
            throw new ConfigurationException("not a product slug: " + b.product);
        }
        if (b.dataDir == null) throw new ConfigurationException("a data directory is required");
        this.product = b.product;
        this.keys = Signing.pin(b.publicKeys);
        this.transport = new Transport(b.serverUrl, b.timeout);
        String absolute = Fingerprint.absolutePath(b.dataDir);
        this.dataDir = Path.of(absolute);
        this.dataPathHash = Fingerprints.dataPathHash(product, absolute);
        this.clock = b.clock;
        this.rollbackTolerance = b.rollbackTolerance;
        this.appVersion = b.appVersion;
        this.channel = b.channel;
        this.installerTicket = b.installerTicket;
        this.hardware = b.hardware;
        this.commands = b.commands;
        this.factNames = List.copyOf(b.facts);
        this.authors = List.copyOf(b.authors);
        this.trackers = List.copyOf(b.trackers);
        this.environment = Map.copyOf(b.environment);
        Facts.validate(factNames, authors, trackers);
        this.stateFile = new State.StateFile(dataDir);
        this.queue = new EventQueue(dataDir);
        this.escrow = new Escrow(transport.serverUrl, product, dataPathHash, environment,
                System.getProperty("os.name", ""), System.getProperty("user.home", ""));
    }

    /** A builder: {@code serverUrl}, {@code product}, {@code publicKey} and {@code dataDir} are required. */
    public static LicentiaBuilder builder() {
        return new LicentiaBuilder();
    }

    private static String readVersion() {
        try (InputStream in = Licentia.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "0.0.0");
        } catch (IOException e) {
            return "0.0.0";
        }
    }

    // -- what the application reads -------------------------------------------------------

    /** The product's slug. */
    public String product() { return product; }

    /** Where this installation's state and event queue live (absolute). */
    public Path dataDir() { return dataDir; }

    /** The server's URL, without a trailing slash. */
    public String serverUrl() { return transport.serverUrl; }

    /** The durable event queue (its {@link EventQueue#count()}). */
    public EventQueue queue() { return queue; }

    /** The server's small value store, per device or per license. */
    public Values values() { return new Values(this); }

    // -- the lock ---------------------------------------------------------------------------

    /** Run {@code work} alone; whatever a file system or a peer throws, the caller sees a LicentiaException. */
    <T> T locked(Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } catch (LicentiaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new LicentiaException("licensing failed: " + e, e);
        } finally {
            lock.unlock();
        }
    }

    Instant now() {
        return clock.instant();
    }

    static long deadlineAfter(Duration wait) {
        return System.nanoTime() + wait.toNanos();
    }

    // -- the public API --------------------------------------------------------------------

    /**
     * This installation's status: from the server when it answers in time, else from the stored
     * document. Never throws: a server that is down, refuses or answers garbage gives the offline
     * answer, and anything else a status that denies ({@code reason} says why).
     */
    public Status check() {
        return check(true);
    }

    /** {@link #check()}; with {@code online} false, judged from the stored document without the network. */
    public Status check(boolean online) {
        try {
            return locked(() -> checkLocked(online));
        } catch (LicentiaException | Error e) {
            if (e instanceof VirtualMachineError vm) throw vm;
            return Status.denied("internal_error", false, "unknown");
        }
    }

    private Status checkLocked(boolean online) {
        Instant now = now();
        State state = stateFile.load();
        if (online) {
            long deadline = deadlineAfter(transport.timeout);
            try {
                Status status = DeviceCalls.call(this, "/v1/check", state, deadline, Json.object());
                try {
                    DeviceCalls.afterOnlineCheck(this, state, now, deadline);
                } catch (LicentiaException e) {
                    // An unusable event queue must not stop the start: the verified answer stands.
                }
                return status;
            } catch (OfflineException | ServerRefusedException e) {
                // The state as kept, not this call's copy: a server that voided the credential and then
                // answered nothing usable must not make the offline check save a state without it.
                state = stateFile.load();
            }
        }
        return checkOffline(state, now);
    }

    /** Redeem a license key on this device; a typo throws {@link InvalidLicenseKeyException} before any network call. */
    public Status activate(String key) {
        return locked(() -> {
            Instant now = now();
            String normalized;
            try {
                normalized = LicenseKeys.normalize(key);
            } catch (InvalidLicenseKeyException e) {
                try {
                    // Evidence of a key typed here: only the prefix, never a whole key.
                    ObjectNode data = Json.object();
                    data.put("key_prefix", LicenseKeys.prefix(key == null ? "" : key));
                    data.put("result", "typo");
                    queue.add(EventKinds.REGISTER, now, data, facts());
                } catch (LicentiaException ignored) {
                    // evidence is best effort; the user must still hear about the typo
                }
                throw e;
            }
            State state = stateFile.load();
            long deadline = deadlineAfter(transport.timeout);
            ObjectNode extra = Json.object();
            extra.put("key", normalized);
            Status status = DeviceCalls.call(this, "/v1/activate", state, deadline, extra);
            flushWith(state, deadline);
            return status;
        });
    }

    /** Free this device's seat on its license (it keeps whatever trial it had left). */
    public Status deactivate() {
        return locked(() -> DeviceCalls.call(this, "/v1/deactivate", stateFile.load(), deadlineAfter(transport.timeout), Json.object()));
    }

    /**
     * Adopt, once, the installation kept in a previous data folder on this computer into this empty
     * one (a new version that keeps its data elsewhere). The state left in the old folder is void.
     */
    public Status moveFrom(Path oldDataDir) {
        return locked(() -> Moves.moveFrom(this, oldDataDir));
    }

    /** Queue an event the application reports ({@code install}, {@code usage}, {@code upgrade}...; see {@link EventQueue#KINDS}); its id. */
    public String track(String kind, Map<String, Object> data) {
        return locked(() -> queue.add(kind, now(), data == null ? Json.object() : Json.mapper().valueToTree(data), facts()));
    }

    /** Queue feedback from the user and try to send it now; its event id. {@code email} may be null. */
    public String feedback(String text, String email) {
        return locked(() -> {
            ObjectNode data = Json.object();
            data.put("text", text);
            if (email != null && !email.isEmpty()) data.put("email", email);
            String id = queue.add(EventKinds.FEEDBACK, now(), data, facts());
            flushLocked(transport.timeout);
            return id;
        });
    }

    /** Send queued events now, for at most the SDK's timeout. */
    public FlushResult flush() {
        return flush(transport.timeout);
    }

    /** Send queued events now, for at most {@code timeout}. */
    public FlushResult flush(Duration timeout) {
        return locked(() -> flushLocked(timeout));
    }

    private FlushResult flushLocked(Duration timeout) {
        State state = stateFile.load();
        long deadline = deadlineAfter(timeout);
        if (state.credential == null && escrow.load() == null) {
            try {
                DeviceCalls.call(this, "/v1/check", state, deadline, Json.object());
            } catch (OfflineException | ServerRefusedException e) {
                return new FlushResult(0, 0, 0, queue.count());
            }
        } else if (state.credential == null) {
            state.credential = escrow.load();
        }
        return flushWith(state, deadline);
    }

    FlushResult flushWith(State state, long deadline) {
        try {
            // The vendor's proxy-log trail (Trail.java), as the last signed document asks.
            return queue.flush(transport, state.credential, deadline, Trail.productOf(state, product));
        } catch (ServerRefusedException e) {
            return new FlushResult(0, 0, 0, queue.count());
        }
    }

    /**
     * Report that the application is being uninstalled (call it from the uninstaller). The
     * installation's credential stays in its escrow outside the data folder, so installing again on
     * this computer resumes the same installation with its license; {@code forget} removes it too
     * (after the report): a later install is then a new installation, which needs the key again.
     */
    public FlushResult uninstall(boolean forget) {
        return locked(() -> {
            try {
                ObjectNode data = Json.object();
                data.put("app_version", appVersion);
                queue.add(EventKinds.UNINSTALL, now(), data, facts());
                return flushLocked(transport.timeout);
            } finally {
                if (forget) escrow.forget();
            }
        });
    }

    /** The newest release on this app's channel ({@code newer} tells whether it beats the app's version), or null. */
    public Status.LatestRelease latestRelease() {
        Map<String, String> query = new java.util.LinkedHashMap<>();
        query.put("product", product);
        query.put("channel", channel);
        if (appVersion != null) query.put("current", appVersion);
        JsonNode answer = transport.request(new Transport.Call("GET", "/v1/releases/latest", query, null, null));
        return Documents.latestRelease(answer);
    }

    /** Read this machine's fingerprint now (what the next check sends and matches). */
    public Fingerprint fingerprint() {
        return Fingerprint.of(product, dataDir.toString(), hardware.read(dataDir.toString()));
    }

    /** The client facts this app sends (empty unless enabled and not opted out); immutable. */
    public Map<String, String> facts() {
        return locked(() -> {
            if (cachedFacts == null) {
                boolean enabled = !factNames.isEmpty() || !authors.isEmpty() || !trackers.isEmpty();
                cachedFacts = !enabled || Facts.disabledByEnvironment(environment) || stateFile.load().factsOptOut
                        ? Map.of() : Map.copyOf(Facts.collect(factNames, authors, trackers, commands));
            }
            return cachedFacts;
        });
    }

    /** The user's choice, kept in the state file: no facts are sent while set. */
    public void optOutOfFacts(boolean optOut) {
        locked(() -> {
            State state = stateFile.load();
            state.factsOptOut = optOut;
            save(state);
            cachedFacts = null;
            return null;
        });
    }

    /** Count {@code amount} of {@code meter} on the server, once even when retried; past the limit: {@link QuotaExceededException}. */
    public Consumption consume(String meter, long amount) {
        return Meters.consume(this, meter, amount, null);
    }

    /** {@link #consume(String, long)} with the caller's idempotency key (1-64 printable ASCII characters, no spaces). */
    public Consumption consume(String meter, long amount, String idempotencyKey) {
        return Meters.consume(this, meter, amount, idempotencyKey);
    }

    /**
     * Start signing this installation's user in (a license whose seats are users): the code to show
     * them. Show {@link SignInCode#userCode()} and {@link SignInCode#verificationUri()} (or open
     * {@link SignInCode#verificationUriComplete()}), then call {@link #finishSignIn}.
     */
    public SignInCode beginSignIn() {
        return SignIn.begin(this);
    }

    /**
     * Wait for the person to confirm {@code code}, polling every {@link SignInCode#interval()} (5 s more
     * after each {@code slow_down}): the verified status, whose {@link Status#user()} names them.
     * Throws {@link ServerRefusedException} with {@code access_denied} (refused in the portal) or
     * {@code expired_token} (nobody confirmed in time: begin again), and {@link OfflineException} once
     * {@code timeout} passed (null: the code's lifetime) or the waiting thread is interrupted.
     */
    public Status finishSignIn(SignInCode code, Duration timeout) {
        if (code == null) throw new ConfigurationException("a code from beginSignIn() is required");
        return SignIn.finish(code, timeout, deviceCode -> SignIn.poll(this, deviceCode), SignIn.REAL);
    }

    /** Both steps: {@code show} tells the person where to confirm the code, then wait for them ({@link Status#user()}). */
    public Status signIn(Consumer<SignInCode> show, Duration timeout) {
        SignInCode code = beginSignIn();
        show.accept(code);
        return finishSignIn(code, timeout);
    }

    /** Check out a floating seat with a license key, kept by heartbeats from a daemon thread; {@link Lease#release()} returns it. */
    public Lease checkout(String key) {
        return Leases.checkout(this, key, null, true);
    }

    /**
     * Check out a floating seat and borrow it for {@code borrowDays} (1-365) of offline use; offline,
     * a stored borrowed lease still valid is returned instead.
     */
    public Lease borrow(String key, int borrowDays) {
        return Leases.checkout(this, key, borrowDays, false);
    }

    /** Air-gapped activation: write requests, install responses, write deactivation proofs. */
    public AirGapped airGapped() {
        return new AirGapped(this);
    }

    // -- internals shared with the other classes of the package -----------------------------

    /** This device's credential, asking the server for one at first contact. */
    Answers.Credential credential() {
        return locked(() -> {
            State state = stateFile.load();
            if (state.credential == null) {
                DeviceCalls.call(this, "/v1/check", state, deadlineAfter(transport.timeout), Json.object());
            }
            if (state.credential == null) throw new OfflineException("no device credential yet");
            return state.credential;
        });
    }

    /** Save the state; a data directory that cannot be written is a ConfigurationException. */
    void save(State state) {
        try {
            stateFile.save(state);
            // File times are the file system's clock, which need not be the one this application reads
            // (a wrong clock set for one process): the skew is kept sealed, so witnesses compare like with like.
            if (Witnesses.measureSkew(this, state)) stateFile.save(state);
        } catch (IOException e) {
            throw new ConfigurationException("cannot write the data directory " + dataDir + ": " + AtomicFiles.describe(e), e);
        }
    }

    private Status checkOffline(State state, Instant now) {
        if (state.signed == null) return Status.denied(state.corrupt ? "corrupt_state" : "no_document", false, "unknown");
        // last_seen is written at most every ten minutes offline (Witnesses.seenOffline): a write with
        // fsync per check costs far more than the check, and a clock wound back by less buys nothing.
        Instant lastSeen = Times.parseOrNull(state.lastSeen);
        Instant witness = Witnesses.latest(this, lastSeen, state.fileClockSkew);
        // The hardware is read now: a state copied to other hardware matches nothing here.
        // Components only: the virtual signals are the server's to judge, online (as the Python SDK reads).
        Fingerprint fingerprint = Fingerprint.withDataPath(product, dataPathHash, hardware.readComponents(dataDir.toString()));
        Status status = Documents.decideOffline(state.signed, state.documentText, keys, product, fingerprint.presented(), now, witness,
                state.clockOffset, rollbackTolerance);
        String seen = Witnesses.seenOffline(state.lastSeen, now);
        if (!"clock_rollback".equals(status.reason()) && !"invalid_document".equals(status.reason())
                && !seen.equals(state.lastSeen)) {
            state.lastSeen = seen;
            try {
                save(state);
            } catch (ConfigurationException e) {
                // A read-only data dir must not stop the app; rollback detection is weaker then.
            }
        }
        return status;
    }

    static long millisLeft(long deadline) {
        return TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    }
}
