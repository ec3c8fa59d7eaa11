package dev.licentia.client;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * This installation's licensing status, as the application sees it (immutable, thread-safe).
 *
 * <p>{@link #state()} is the device status ({@code trial}, {@code trial_expired}, {@code registered},
 * {@code suspended}, {@code blocked}) or one the SDK derives offline: {@code grace} (lease ended,
 * grace days left), {@code lease_expired}, {@code expired} (license expiry), {@code clock_rollback}
 * and {@code unknown} (no valid document and no server). Everything here comes from a document the
 * SDK verified with the pinned key, judged at the server's time.
 */
public final class Status {
    private final boolean allowed;
    private final String state;
    private final Long daysLeft;
    private final List<String> features;
    private final String reason;
    private final boolean online;
    private final String device;
    private final LatestRelease latestRelease;
    private final boolean cloneSuspected;
    private final Map<String, Object> entitlements;
    private final Maintenance maintenance;
    private final Customer customer;
    private final String user;
    private final boolean saved;

    Status(boolean allowed, String state, Long daysLeft, List<String> features, String reason, boolean online,
            String device, LatestRelease latestRelease, boolean cloneSuspected, Map<String, Object> entitlements,
            Maintenance maintenance, Customer customer, String user, boolean saved) {
        this.allowed = allowed;
        this.state = state;
        this.daysLeft = daysLeft;
        this.features = List.copyOf(features);
        this.reason = reason;
        this.online = online;
        this.device = device;
        this.latestRelease = latestRelease;
        this.cloneSuspected = cloneSuspected;
        this.entitlements = Map.copyOf(entitlements);
        this.maintenance = maintenance;
        this.customer = customer;
        this.user = user;
        this.saved = saved;
    }

    static Status denied(String reason, boolean online, String state) {
        return new Status(false, state, 0L, List.of(), reason, online, null, null, false, Map.of(), null, null, null, true);
    }

    /** This status, flagged as verified but not kept on disk (a full or read-only data directory). */
    Status notSaved() {
        return new Status(allowed, state, daysLeft, features, reason, online, device, latestRelease, cloneSuspected,
                entitlements, maintenance, customer, user, false);
    }

    /** Whether the application may run. */
    public boolean allowed() { return allowed; }

    /** The state word (see the class comment). Never null. */
    public String state() { return state; }

    /** Whole days left of the trial, license or grace; null when unlimited. */
    public Long daysLeft() { return daysLeft; }

    /** The features the document grants (immutable, never null). */
    public List<String> features() { return features; }

    /** Why the status is what it is ({@code trial_ended}, {@code no_document}, ...); null when nothing to say. */
    public String reason() { return reason; }

    /** True when the server answered this check; false when judged from the stored document. */
    public boolean online() { return online; }

    /** This installation's id; null when no document names it. */
    public String device() { return device; }

    /** The newest release the signed document names (version, channel, an https download URL); null if none. */
    public LatestRelease latestRelease() { return latestRelease; }

    /** The server suspects this installation is a copy of another. */
    public boolean cloneSuspected() { return cloneSuspected; }

    /**
     * False when the answer verified but could not be written to the data directory (a full or
     * read-only disk): the application runs, and the next offline start will not know of this answer.
     */
    public boolean saved() { return saved; }

    /** Typed entitlements in force: values are Boolean, Long or String (immutable, never null). */
    public Map<String, Object> entitlements() { return entitlements; }

    /** Until when the license gets updates, and a newer release it does not cover; null without a license. */
    public Maintenance maintenance() { return maintenance; }

    /** The licensee of an activated installation; null for a trial. */
    public Customer customer() { return customer; }

    /**
     * The person signed in on this installation (their email), on a license whose seats are named
     * users ({@link Licentia#signIn}); null otherwise. From the signed document, offline too.
     */
    public String user() { return user; }

    public boolean hasFeature(String name) {
        return features.contains(name);
    }

    /** The value of entitlement {@code name} (Boolean, Long or String) while in force, else null. */
    public Object entitlement(String name) {
        return entitlements.get(name);
    }

    /** A boolean entitlement, or {@code fallback} when it is absent or of another type. */
    public boolean booleanEntitlement(String name, boolean fallback) {
        return entitlements.get(name) instanceof Boolean b ? b : fallback;
    }

    /** An integer entitlement, or {@code fallback} when it is absent or of another type. */
    public long longEntitlement(String name, long fallback) {
        return entitlements.get(name) instanceof Long n ? n : fallback;
    }

    /** A text entitlement, or {@code fallback} (may be null) when it is absent or of another type. */
    public String stringEntitlement(String name, String fallback) {
        return entitlements.get(name) instanceof String s ? s : fallback;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Status s && allowed == s.allowed && state.equals(s.state) && Objects.equals(daysLeft, s.daysLeft)
                && features.equals(s.features) && Objects.equals(reason, s.reason) && online == s.online
                && Objects.equals(device, s.device) && cloneSuspected == s.cloneSuspected;
    }

    @Override
    public int hashCode() {
        return Objects.hash(allowed, state, daysLeft, features, reason, online, device, cloneSuspected);
    }

    @Override
    public String toString() {
        return "Status[allowed=" + allowed + ", state=" + state + ", daysLeft=" + daysLeft + ", features=" + features
                + ", reason=" + reason + ", online=" + online + ", device=" + device + "]";
    }

    /**
     * A release: only its known fields, and a download URL only when it is an https link.
     *
     * @param version never null nor empty
     * @param channel or null
     * @param releasedAt ISO 8601 text, or null (a status document's release has none)
     * @param downloadUrl an https link, or null
     * @param notes or null
     * @param newer whether it is newer than the application's version; null when not asked
     */
    public record LatestRelease(String version, String channel, String releasedAt, String downloadUrl, String notes,
            Boolean newer) {
        public LatestRelease {
            Objects.requireNonNull(version);
        }
    }

    /**
     * A license's maintenance.
     *
     * @param until until when the license gets updates (ISO 8601 text), or null: for ever
     * @param newerRelease a newer release the maintenance does not cover (an upgrade to sell), or null
     */
    public record Maintenance(String until, NewerRelease newerRelease) {
        /** {@link #until()} as an instant, or null when there is none or it does not read. */
        public java.time.Instant untilInstant() {
            return Times.parseOrNull(until);
        }
    }

    /** A newer release beyond the maintenance: its version and channel (or null). */
    public record NewerRelease(String version, String channel) {}

    /** The licensee: the customer's id (as in the developer API) and the name the vendor gave it (never null). */
    public record Customer(long id, String name) {
        public Customer {
            Objects.requireNonNull(name);
        }
    }
}
