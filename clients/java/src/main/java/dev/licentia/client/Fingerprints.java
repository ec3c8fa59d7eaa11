package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Component hashing and the K-of-N matching rule, as {@code licentia.core.fingerprint}: raw
 * identifiers are hashed with the product before they leave the machine, so two vendors cannot
 * correlate users, and the CPU identity (shared by every machine of a model) never matches alone.
 */
final class Fingerprints {
    /** Hardware components, in the order they are worth as evidence. */
    static final List<String> COMPONENTS = List.of("machine", "disk", "cpu", "mac");
    private static final String WEAK = "cpu";
    private static final int HARDWARE_COMPONENTS = 3;

    private Fingerprints() {}

    // One Mac per thread, keyed afresh at each use (init resets it): Mac.getInstance searches the
    // providers at every call, and an offline check computes seven of these.
    private static final ThreadLocal<Mac> HMAC_SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    });

    static byte[] hmacSha256(byte[] key, byte[] message) {
        try {
            Mac mac = HMAC_SHA256.get();
            // SecretKeySpec refuses an empty key; HMAC pads keys with zeros, so one zero byte is the same key.
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacSHA256"));
            return mac.doFinal(message);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] raw) {
        return java.util.HexFormat.of().formatHex(raw);
    }

    /** {@code hex(HMAC-SHA256("licentia:<product>", "<name>:<raw>"))}. */
    static String componentHash(String product, String name, String raw) {
        byte[] key = ("licentia:" + product).getBytes(StandardCharsets.UTF_8);
        return hex(hmacSha256(key, (name + ":" + raw).getBytes(StandardCharsets.UTF_8)));
    }

    static String dataPathHash(String product, String path) {
        return componentHash(product, "data_path", path);
    }

    static int requiredMatches(Map<String, String> presented, long minMatch) {
        long tolerated = Math.max(0, HARDWARE_COMPONENTS - minMatch);
        return (int) Math.max(1, presented.size() - tolerated);
    }

    static boolean equalText(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** True when {@code presented} is the same device as {@code stored} under the policy's K of N. */
    static boolean matches(JsonNode stored, Map<String, String> presented, long minMatch) {
        int equal = 0;
        boolean strong = false; // a component other than the CPU is equal
        for (Map.Entry<String, String> entry : presented.entrySet()) {
            String value = entry.getValue();
            String known = Json.text(stored, entry.getKey());
            if (value != null && !value.isEmpty() && known != null && !known.isEmpty() && equalText(known, value)) {
                equal++;
                strong |= !WEAK.equals(entry.getKey());
            }
        }
        return strong && equal >= requiredMatches(presented, minMatch);
    }
}
