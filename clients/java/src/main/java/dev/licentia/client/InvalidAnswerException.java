package dev.licentia.client;

/** The server's answer was garbage or did not verify with the pinned key; nothing of it was used or stored. */
public class InvalidAnswerException extends OfflineException {
    private static final long serialVersionUID = 1L;

    public InvalidAnswerException(String message) {
        super(message);
    }

    public InvalidAnswerException(String message, Throwable cause) {
        super(message, cause);
    }
}
