package dev.licentia.client;

/**
 * The root of every error the SDK throws. All of them are unchecked, so Kotlin and Java callers
 * alike catch one class around a call and never crash on licensing. The tree mirrors the Python
 * SDK's ({@code licentia.client}):
 *
 * <pre>
 * LicentiaException
 * ├── ConfigurationException      bad public key, product slug, data directory or argument
 * ├── InvalidLicenseKeyException  a license key with a typo, caught before any network call
 * ├── OfflineException            the server could not be reached in time
 * │   └── InvalidAnswerException  an answer that is not JSON, or does not verify (as good as no answer)
 * └── ServerRefusedException      the server answered with an error (code, status, retryAfter, details)
 *     └── QuotaExceededException  a meter's limit would be passed; nothing was counted
 * </pre>
 *
 * <p>Lower errors ({@code IOException}, {@code GeneralSecurityException}, JSON errors) are wrapped
 * and never escape, whatever the network or the files in the data directory hold.
 * {@link Licentia#check()} throws nothing at all: it answers a {@link Status}.
 */
public class LicentiaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LicentiaException(String message) {
        super(message);
    }

    public LicentiaException(String message, Throwable cause) {
        super(message, cause);
    }
}
