package dev.licentia.client;

/** A license's own state, set by the vendor (or by its expiry). */
public final class LicenseStates {
    private LicenseStates() {}

    public static final String ACTIVE = "active";
    public static final String SUSPENDED = "suspended";
    public static final String REVOKED = "revoked";
    public static final String EXPIRED = "expired";
}
