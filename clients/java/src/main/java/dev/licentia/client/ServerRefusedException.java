package dev.licentia.client;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The server answered with an error; {@link #code()} is the stable contract (see {@link ErrorCodes}).
 * {@link #details()} holds the refusal's other plain fields, e.g. {@code transfer_limit}'s
 * {@code next_transfer_at}: unverified figures to show, never to grant by.
 */
public class ServerRefusedException extends LicentiaException {
    private static final long serialVersionUID = 1L;

    private final String code;
    private final String serverMessage;
    private final int status;
    private final Long retryAfter;
    private final transient Map<String, Object> details;

    public ServerRefusedException(String code, String message, int status, Long retryAfter, Map<String, Object> details) {
        super(code + ": " + message);
        this.code = code;
        this.serverMessage = message;
        this.status = status;
        this.retryAfter = retryAfter;
        this.details = Collections.unmodifiableMap(new LinkedHashMap<>(details == null ? Map.of() : details));
    }

    /** The server's error code, e.g. {@code too_many_devices}. Never null. */
    public String code() {
        return code;
    }

    /** The server's human message. Never null. */
    public String serverMessage() {
        return serverMessage;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** Seconds from the {@code Retry-After} header, or null when it had none. */
    public Long retryAfter() {
        return retryAfter;
    }

    /** The refusal's other plain fields (String, Long, Boolean or null values); never null, immutable. */
    public Map<String, Object> details() {
        return details;
    }
}
