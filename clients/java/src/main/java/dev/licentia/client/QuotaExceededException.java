package dev.licentia.client;

/** A meter's limit for the period would be passed: nothing was counted; {@link #consumption()} says where it stands. */
public class QuotaExceededException extends ServerRefusedException {
    private static final long serialVersionUID = 1L;

    private final transient Consumption consumption;

    public QuotaExceededException(Consumption consumption, String message) {
        super(ErrorCodes.QUOTA_EXCEEDED, message, 409, null, consumption.asMap());
        this.consumption = consumption;
    }

    /** The meter's standing as the server reported it. Never null. */
    public Consumption consumption() {
        return consumption;
    }
}
