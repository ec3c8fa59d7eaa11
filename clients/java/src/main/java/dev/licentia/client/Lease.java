package dev.licentia.client;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A floating seat held by this machine. Use it with try-with-resources, or call {@link #release()}.
 *
 * <p>A lease keeps its seat with heartbeats from a daemon thread, at the interval the server signed.
 * The thread never throws into the application: a network failure is retried until the lease's end,
 * a lease the server ended is checked out again (if a seat is free), and whatever happens is told
 * by {@link #state()} and {@link #valid()}. A borrowed lease works offline until its end.
 *
 * <p>Thread-safe: {@link #valid()} answers at once while a heartbeat waits on the network.
 */
public final class Lease implements AutoCloseable {
    /** Held, heartbeats running. */
    public static final String ACTIVE = "active";
    /** Held for offline use until {@link #expiresAt()}. */
    public static final String BORROWED = "borrowed";
    /** No heartbeat reached the server before the lease's end. */
    public static final String EXPIRED = "expired";
    /** The server ended the lease and no seat was free, or the license stopped allowing use ({@link #error()}). */
    public static final String LOST = "lost";
    /** Returned. */
    public static final String RELEASED = "released";

    /** Never heartbeat more often than this, whatever a document says. */
    private static final Duration MIN_HEARTBEAT = Duration.ofMillis(50);
    private static final int RETRY_FRACTION = 4;
    // Refusals after which heartbeats stop: only the vendor or the customer can change them.
    private static final Set<String> FINAL = Set.of(ErrorCodes.LICENSE_SUSPENDED, ErrorCodes.LICENSE_REVOKED,
            ErrorCodes.LICENSE_EXPIRED, ErrorCodes.NOT_FLOATING, ErrorCodes.INVALID_KEY);

    private final Licentia lic;
    private final String key; // in memory only, to check out again when the server ended the lease
    private final Object lock = new Object();
    private Thread thread;
    private volatile boolean stopped;
    private String state = ACTIVE;
    private long deadlineNanos;
    private String id;
    private Instant expiresAt;
    private boolean borrowed;
    private Map<String, Object> entitlements = Map.of();
    private List<String> features = List.of();
    private Duration heartbeatEvery = Duration.ofSeconds(30);
    private int heartbeats;
    private String error;
    private boolean online;

    Lease(Licentia lic, String key, Leases.Verified verified, boolean online) {
        this.lic = lic;
        this.key = key;
        this.online = online;
        accept(verified);
    }

    // -- what the application reads ---------------------------------------------------------

    /** Whether the application may run now: a held lease whose end has not come. */
    public boolean valid() {
        String s = state();
        return s.equals(ACTIVE) || s.equals(BORROWED);
    }

    /** {@link #ACTIVE}, {@link #BORROWED}, {@link #EXPIRED}, {@link #LOST} or {@link #RELEASED}. */
    public String state() {
        synchronized (lock) {
            if ((state.equals(ACTIVE) || state.equals(BORROWED)) && System.nanoTime() >= deadlineNanos) return EXPIRED;
            return state;
        }
    }

    /** The lease's id ({@code ls_...}). */
    public String id() {
        synchronized (lock) {
            return id;
        }
    }

    /** When the lease ends unless a heartbeat extends it (the server's time). */
    public Instant expiresAt() {
        synchronized (lock) {
            return expiresAt;
        }
    }

    /** Whether this is a borrowed (offline) lease. */
    public boolean borrowed() {
        synchronized (lock) {
            return borrowed;
        }
    }

    /** False when this lease was read from {@code lease.json} (a borrow used offline). */
    public boolean online() {
        synchronized (lock) {
            return online;
        }
    }

    /** Heartbeats that reached the server. */
    public int heartbeats() {
        synchronized (lock) {
            return heartbeats;
        }
    }

    /** Why the lease was lost (a refusal code, or {@code offline: ...}); null when nothing went wrong. */
    public String error() {
        synchronized (lock) {
            return error;
        }
    }

    /** The features the lease grants (immutable). */
    public List<String> features() {
        synchronized (lock) {
            return features;
        }
    }

    /** An entitlement's value (Boolean, Long or String) while the lease is valid, else null. */
    public Object entitlement(String name) {
        synchronized (lock) {
            return valid() ? entitlements.get(name) : null;
        }
    }

    /** The interval between heartbeats the server signed. */
    public Duration heartbeatInterval() {
        synchronized (lock) {
            return heartbeatEvery;
        }
    }

    @Override
    public String toString() {
        return "Lease[id=" + id() + ", state=" + state() + ", expiresAt=" + expiresAt() + "]";
    }

    // -- what the application does ------------------------------------------------------------

    /** Send one heartbeat now (the background thread does this by itself). */
    public void heartbeat() {
        if (stopped && RELEASED.equals(stateRaw())) {
            throw new ServerRefusedException(ErrorCodes.LEASE_EXPIRED, "this lease was released", 410, null, Map.of());
        }
        // The network call holds no lock: valid() must answer at once while a heartbeat waits.
        Leases.Verified verified = Leases.verified(lic, Leases.call(lic, "/v1/leases/" + id() + "/heartbeat", null, null));
        synchronized (lock) {
            if (state.equals(RELEASED)) return;
            online = true;
        }
        accept(verified);
        synchronized (lock) {
            heartbeats++;
        }
    }

    /** Return the seat now (a borrowed one too, early). Offline, the seat frees when the lease ends. */
    public void release() {
        stopped = true;
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(lic.transport.timeout.toMillis() + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (RELEASED.equals(stateRaw())) return;
        try {
            Leases.call(lic, "/v1/leases/" + id() + "/release", null, null);
        } catch (ServerRefusedException e) {
            if (!ErrorCodes.UNKNOWN_LEASE.equals(e.code())) throw e;
        } finally {
            synchronized (lock) {
                state = RELEASED;
            }
            Leases.forget(lic, id());
        }
    }

    /** Leaving a try-with-resources block returns an ordinary lease; a borrowed one stays borrowed. Never throws. */
    @Override
    public void close() {
        if (borrowed()) {
            stopped = true;
            return;
        }
        try {
            release();
        } catch (LicentiaException e) {
            // offline at exit: the seat frees when the lease ends
        }
    }

    // -- inside ---------------------------------------------------------------------------------

    private String stateRaw() {
        synchronized (lock) {
            return state;
        }
    }

    /** Take a verified document: from now on the lease lasts what the server signed (on the monotonic clock). */
    private void accept(Leases.Verified v) {
        // Online, the server's time says how long is left; offline, the checked local clock set right by the offset.
        // (Read before taking this lease's lock: valid() must never wait on the client's.)
        Instant offlineNow = online() ? null : Times.serverTime(lic.now(), lic.locked(() -> lic.stateFile.load().clockOffset));
        synchronized (lock) {
            Instant now = offlineNow == null ? v.issued() : offlineNow;
            Leases.View view = Leases.view(v, now);
            deadlineNanos = System.nanoTime() + (long) (view.secondsLeft() * 1e9);
            id = view.id();
            expiresAt = view.expiresAt();
            borrowed = view.state().equals(BORROWED);
            state = borrowed ? BORROWED : ACTIVE;
            error = null;
            entitlements = Map.copyOf(view.entitlements());
            features = view.features();
            heartbeatEvery = Duration.ofMillis((long) (view.heartbeatSeconds() * 1000));
        }
        Leases.save(lic, v.signed());
    }

    /** Start the daemon thread ({@code every}: between heartbeats; null: the signed interval). */
    void startHeartbeats(Duration every) {
        synchronized (lock) {
            if (thread != null || borrowed) return;
            Duration interval = every != null ? every : heartbeatEvery;
            if (interval.compareTo(MIN_HEARTBEAT) < 0) interval = MIN_HEARTBEAT;
            Duration chosen = interval;
            thread = new Thread(() -> beat(chosen), "licentia-lease");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void beat(Duration interval) {
        long wait = interval.toMillis();
        while (!stopped) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                return;
            }
            if (stopped) return;
            try {
                wait = beatOnce() ? interval.toMillis() : interval.toMillis() / RETRY_FRACTION;
            } catch (RuntimeException e) {
                wait = interval.toMillis(); // a fault of ours: never thrown into the application
            }
            String s = stateRaw();
            if (s.equals(RELEASED) || (s.equals(LOST) && FINAL.contains(error()))) return;
        }
    }

    /** One heartbeat (or a new checkout after the server ended the lease); true when the seat is held. */
    private boolean beatOnce() {
        try {
            heartbeat();
            return true;
        } catch (OfflineException e) {
            synchronized (lock) {
                error = "offline: " + e.getMessage(); // the lease holds until its end; retried sooner
            }
            return false;
        } catch (ServerRefusedException e) {
            if (stopped) return false;
            if (!ErrorCodes.LEASE_EXPIRED.equals(e.code()) && !ErrorCodes.UNKNOWN_LEASE.equals(e.code())) {
                lost(e.code());
                return false;
            }
        }
        // The server ended the lease (it expired while offline, or the vendor freed it): take a seat again.
        if (key == null) {
            lost(ErrorCodes.LEASE_EXPIRED);
            return false;
        }
        try {
            Leases.Verified v = Leases.verified(lic, Leases.call(lic, "/v1/leases", key, null));
            if (!stopped) {
                synchronized (lock) {
                    online = true;
                }
                accept(v);
            }
            return true;
        } catch (ServerRefusedException e) {
            lost(e.code());
            return false;
        } catch (OfflineException e) {
            synchronized (lock) {
                error = "offline: " + e.getMessage();
            }
            return false;
        }
    }

    private void lost(String code) {
        synchronized (lock) {
            if (!state.equals(RELEASED)) {
                state = LOST;
                error = code;
            }
        }
    }
}
