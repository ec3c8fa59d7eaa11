package dev.licentia.client;

/** The SDK was set up wrongly (public key, product slug, data directory) or given an impossible argument. */
public class ConfigurationException extends LicentiaException {
    private static final long serialVersionUID = 1L;

    public ConfigurationException(String message) {
        super(message);
    }

    public ConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
