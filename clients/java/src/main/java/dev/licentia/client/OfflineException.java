package dev.licentia.client;

/** The server could not be reached, or did not answer, within the timeout. */
public class OfflineException extends LicentiaException {
    private static final long serialVersionUID = 1L;

    public OfflineException(String message) {
        super(message);
    }

    public OfflineException(String message, Throwable cause) {
        super(message, cause);
    }
}
