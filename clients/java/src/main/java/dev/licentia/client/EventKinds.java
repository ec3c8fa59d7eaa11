package dev.licentia.client;

/** What happened to an installation ({@code events.kind}). From {@code licentia.core.vocabulary.EventKind}. */
public final class EventKinds {
    private EventKinds() {}

    public static final String INSTALL = "install";
    public static final String REGISTER = "register";
    public static final String USAGE = "usage";
    public static final String UNINSTALL = "uninstall";
    public static final String FEEDBACK = "feedback";
    public static final String UPGRADE = "upgrade";
    public static final String CHECK = "check";
    public static final String REINSTALL = "reinstall";
    public static final String MOVED = "moved";
    public static final String HARDWARE_CHANGED = "hardware_changed";
    public static final String CLONE_SUSPECTED = "clone_suspected";
    public static final String INVALID_KEY = "invalid_key";
    public static final String DEACTIVATE = "deactivate";
    public static final String QUOTA_REACHED = "quota_reached";
}
