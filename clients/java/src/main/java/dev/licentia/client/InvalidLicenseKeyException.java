package dev.licentia.client;

/** The license key is malformed or has a typo (its check character does not match); no network call was made. Python: <code>InvalidKey</code>. */
public class InvalidLicenseKeyException extends LicentiaException {
    private static final long serialVersionUID = 1L;

    public InvalidLicenseKeyException(String message) {
        super(message);
    }

    public InvalidLicenseKeyException(String message, Throwable cause) {
        super(message, cause);
    }
}
