package dev.licentia.client;

import dev.licentia.client.hardware.CommandRunner;
import dev.licentia.client.hardware.Hardware;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a {@link Licentia}. Required: {@link #serverUrl}, {@link #product}, {@link #publicKey} (or
 * {@link #publicKeys} during a key rotation) and {@link #dataDir}. {@link #build()} throws
 * {@link ConfigurationException} for anything malformed. Not thread-safe; the built client is.
 */
public final class LicentiaBuilder {
    String serverUrl;
    String product;
    List<String> publicKeys = List.of();
    Path dataDir;
    Duration timeout = Licentia.DEFAULT_TIMEOUT;
    Clock clock = Clock.systemUTC();
    Duration rollbackTolerance = Documents.DEFAULT_ROLLBACK_TOLERANCE;
    String appVersion;
    String channel = "stable";
    Hardware hardware = Hardware.system();
    CommandRunner commands = CommandRunner.SYSTEM;
    List<String> facts = List.of();
    List<String> authors = List.of();
    List<String> trackers = List.of();
    Map<String, String> environment = System.getenv();
    Path installerTicket;

    LicentiaBuilder() {}

    /** The Licentia server, e.g. {@code https://licensing.example.com}. */
    public LicentiaBuilder serverUrl(String serverUrl) {
        this.serverUrl = serverUrl;
        return this;
    }

    /** The product's slug, e.g. {@code my-app}. */
    public LicentiaBuilder product(String product) {
        this.product = product;
        return this;
    }

    /** The product's public key, {@code ed25519:<kid>:<key>}. */
    public LicentiaBuilder publicKey(String publicKey) {
        this.publicKeys = List.of(Objects.requireNonNull(publicKey, "publicKey"));
        return this;
    }

    /** Several public keys, during a key rotation. */
    public LicentiaBuilder publicKeys(List<String> publicKeys) {
        this.publicKeys = List.copyOf(publicKeys);
        return this;
    }

    /** Where state and queued events live (one directory per installation). */
    public LicentiaBuilder dataDir(Path dataDir) {
        this.dataDir = dataDir;
        return this;
    }

    /** How long an online call may take (default 3 s). */
    public LicentiaBuilder timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    /** The clock trials, leases and rollback are judged by (default: the system's; tests move a fixed one). */
    public LicentiaBuilder clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    /** How far the clock may run behind the latest time seen before it counts as wound back (default 2 h). */
    public LicentiaBuilder rollbackTolerance(Duration tolerance) {
        this.rollbackTolerance = Objects.requireNonNull(tolerance, "tolerance");
        return this;
    }

    /** The application's version, sent with checks and events (may be null). */
    public LicentiaBuilder appVersion(String appVersion) {
        this.appVersion = appVersion;
        return this;
    }

    /** The release channel (default {@code stable}). */
    public LicentiaBuilder channel(String channel) {
        this.channel = Objects.requireNonNull(channel, "channel");
        return this;
    }

    /** Where hardware identifiers come from (default: this machine, by its OS); tests pass fakes. */
    public LicentiaBuilder hardware(Hardware hardware) {
        this.hardware = Objects.requireNonNull(hardware, "hardware");
        return this;
    }

    /** Client facts to send as evidence, by name (none by default; disclose them). */
    public LicentiaBuilder facts(List<String> names) {
        this.facts = List.copyOf(names);
        return this;
    }

    /** Send every client fact (disclose them). */
    public LicentiaBuilder allFacts() {
        this.facts = Facts.NAMES;
        return this;
    }

    /** Free fields from the registration form ({@code author_1}..{@code author_10}). */
    public LicentiaBuilder authors(List<String> authors) {
        this.authors = new ArrayList<>(authors);
        return this;
    }

    /** Free fields from the application ({@code tracker_1}..{@code tracker_10}). */
    public LicentiaBuilder trackers(List<String> trackers) {
        this.trackers = new ArrayList<>(trackers);
        return this;
    }

    /**
     * The environment read for {@code DO_NOT_TRACK}, {@code LICENTIA_NO_FACTS} and the escrow's folder
     * ({@code XDG_CONFIG_HOME}, {@code LOCALAPPDATA}); default: the process's. Tests pass their own.
     */
    public LicentiaBuilder environment(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
        return this;
    }

    /**
     * The {@value InstallerTickets#FILE_NAME} that came with this copy of the application (its
     * installer put it beside the program), or null (the default) for none. Sent with the first check
     * only, when this installation has no credential yet; a missing file is no ticket, and a damaged
     * one is skipped (logged) so that it never stops the application.
     */
    public LicentiaBuilder installerTicket(Path installerTicket) {
        this.installerTicket = installerTicket;
        return this;
    }

    /** The client; {@link ConfigurationException} for a missing or malformed setting. */
    public Licentia build() {
        return new Licentia(this);
    }
}
