package dev.licentia.client;

/** The status the server decided for an installation ({@code status} in the signed document). */
public final class DeviceStatuses {
    private DeviceStatuses() {}

    public static final String TRIAL = "trial";
    public static final String TRIAL_EXPIRED = "trial_expired";
    public static final String REGISTERED = "registered";
    public static final String SUSPENDED = "suspended";
    public static final String BLOCKED = "blocked";
}
