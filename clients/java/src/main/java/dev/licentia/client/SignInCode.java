package dev.licentia.client;

import java.time.Duration;

/**
 * What to show the person signing in ({@link Licentia#beginSignIn()}): {@link #userCode()} and where to
 * type it ({@link #verificationUri()}). {@link #verificationUriComplete()} is the same page with the
 * code filled in (a link to open, or a QR code). The secret device code inside is this installation's
 * alone: no public accessor, and {@link #toString()} never shows it.
 */
public final class SignInCode {
    private final String userCode;
    private final String verificationUri;
    private final String verificationUriComplete;
    private final Duration expiresIn;
    private final Duration interval;
    private final String deviceCode;

    SignInCode(String userCode, String verificationUri, String verificationUriComplete, Duration expiresIn, Duration interval,
            String deviceCode) {
        this.userCode = userCode;
        this.verificationUri = verificationUri;
        this.verificationUriComplete = verificationUriComplete;
        this.expiresIn = expiresIn;
        this.interval = interval;
        this.deviceCode = deviceCode;
    }

    /** The code to show, e.g. {@code BDFG-HJKM}. */
    public String userCode() { return userCode; }

    /** The portal's page where the person types the code. */
    public String verificationUri() { return verificationUri; }

    /** The same page with the code filled in. */
    public String verificationUriComplete() { return verificationUriComplete; }

    /** How long the code lives (15 minutes by default). */
    public Duration expiresIn() { return expiresIn; }

    /** How long to wait between polls, as the server asked. */
    public Duration interval() { return interval; }

    String deviceCode() { return deviceCode; }

    @Override
    public String toString() {
        return "SignInCode[userCode=" + userCode + ", verificationUri=" + verificationUri + "]";
    }
}
