package dev.licentia.client;

/** The error codes a client acts on: {@link ServerRefusedException#code()}. From {@code licentia.core.vocabulary.ClientErrorCode}. */
public final class ErrorCodes {
    private ErrorCodes() {}

    public static final String HTTP_ERROR = "http_error";
    public static final String VALIDATION_ERROR = "validation_error";
    public static final String RATE_LIMITED = "rate_limited";
    public static final String INVALID_CREDENTIAL = "invalid_credential";
    public static final String STALE_TOKEN = "stale_token";
    public static final String OTHER_MACHINE = "other_machine";
    public static final String INVALID_KEY = "invalid_key";
    public static final String LICENSE_SUSPENDED = "license_suspended";
    public static final String LICENSE_REVOKED = "license_revoked";
    public static final String LICENSE_EXPIRED = "license_expired";
    public static final String TOO_MANY_DEVICES = "too_many_devices";
    public static final String TRANSFER_LIMIT = "transfer_limit";
    public static final String MACHINE_RESTRICTED = "machine_restricted";
    public static final String VIRTUAL_MACHINE_NOT_ALLOWED = "virtual_machine_not_allowed";
    public static final String NOT_FLOATING = "not_floating";
    public static final String FLOATING_LICENSE = "floating_license";
    public static final String NO_SEAT_AVAILABLE = "no_seat_available";
    public static final String LEASE_EXPIRED = "lease_expired";
    public static final String UNKNOWN_LEASE = "unknown_lease";
    public static final String BORROW_NOT_ALLOWED = "borrow_not_allowed";
    public static final String USER_LICENSE = "user_license";
    public static final String AUTHORIZATION_PENDING = "authorization_pending";
    public static final String SLOW_DOWN = "slow_down";
    public static final String ACCESS_DENIED = "access_denied";
    public static final String EXPIRED_TOKEN = "expired_token";
    public static final String INVALID_GRANT = "invalid_grant";
    public static final String NOT_REGISTERED = "not_registered";
    public static final String UNKNOWN_VALUE = "unknown_value";
    public static final String QUOTA_EXCEEDED = "quota_exceeded";
    public static final String UNKNOWN_METER = "unknown_meter";
}
