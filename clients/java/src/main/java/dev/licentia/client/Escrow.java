package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * The installation's credential kept outside its data folder, so a reinstall resumes the
 * installation. Same file, name and content as the Python SDK's file store
 * ({@code licentia.client.escrow}), so either SDK finds the other's entry:
 * {@code <config>/licentia/credentials/<sha256(server\nproduct\ndata path hash)>}, 0600 in a 0700
 * folder, holding the device id and secret (never the license key). It is read only when the data
 * folder holds no credential. {@link Licentia#uninstall(boolean)} with {@code forget} removes it.
 * None of its methods throws.
 */
final class Escrow {
    static final int MAX_ENTRY_BYTES = 4096;

    final String serverUrl;
    final String product;
    final String dataPath;
    final String account;
    private final Map<String, String> env;
    private final String osName;
    private final String home;

    Escrow(String serverUrl, String product, String dataPath, Map<String, String> env, String osName, String home) {
        this.serverUrl = serverUrl.replaceAll("/+$", "");
        this.product = product;
        this.dataPath = dataPath;
        this.env = env;
        this.osName = osName;
        this.home = home;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((this.serverUrl + "\n" + product + "\n" + dataPath).getBytes(StandardCharsets.UTF_8));
            this.account = HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The escrow of another data path of this product on this computer (a move's old folder). */
    Escrow forPath(String otherDataPath) {
        return new Escrow(serverUrl, product, otherDataPath, env, osName, home);
    }

    /** Python's {@code platformdirs.user_config_dir("licentia", appauthor=False)}; null without a home. */
    static Path userConfigDir(Map<String, String> env, String osName, String home) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("windows")) {
            String local = env.getOrDefault("LOCALAPPDATA", "");
            if (local.length() > 2 && local.charAt(1) == ':') return Path.of(local, "licentia");
            return home == null || home.isEmpty() ? null : Path.of(home, "AppData", "Local", "licentia");
        }
        // platformdirs takes $XDG_CONFIG_HOME (only an absolute one) on every Unix, macOS included.
        String xdg = env.getOrDefault("XDG_CONFIG_HOME", "");
        if (xdg.startsWith("/")) return Path.of(xdg, "licentia");
        if (home == null || !home.startsWith("/")) return null;
        return os.startsWith("mac") ? Path.of(home, "Library", "Application Support", "licentia") : Path.of(home, ".config", "licentia");
    }

    /** The entry's file; null when no home directory can be found (then there is no escrow). */
    Path path() {
        Path dir = userConfigDir(env, osName, home);
        return dir == null ? null : dir.resolve("credentials").resolve(account);
    }

    /** This installation's escrowed credential, if its file holds a well-formed entry of this installation. */
    Answers.Credential load() {
        Path path = path();
        if (path == null) return null;
        byte[] raw = AtomicFiles.readSmall(path, MAX_ENTRY_BYTES);
        if (raw == null) return null;
        JsonNode entry;
        try {
            entry = Json.parse(raw);
        } catch (Json.JsonException e) {
            return null;
        }
        if (!serverUrl.equals(Json.text(entry, "server")) || !product.equals(Json.text(entry, "product"))
                || !dataPath.equals(Json.text(entry, "data_path"))) {
            return null;
        }
        String device = Json.text(entry, "device");
        String secret = Json.text(entry, "secret");
        return Answers.isToken(device) && Answers.isToken(secret) ? new Answers.Credential(device, secret) : null;
    }

    /** Keep {@code credential} for a reinstall; a failure costs a reinstall its resumption only. */
    void save(Answers.Credential credential) {
        Path path = path();
        if (path == null) return;
        ObjectNode entry = Json.object();
        entry.put("device", credential.device());
        entry.put("secret", credential.secret());
        entry.put("server", serverUrl);
        entry.put("product", product);
        entry.put("data_path", dataPath);
        try {
            AtomicFiles.write(path, Json.write(entry));
        } catch (IOException | RuntimeException e) {
            // a read-only or full home directory, or a file where the folder should be
        }
    }

    /** Remove the entry: a later install is then a new installation. */
    void forget() {
        Path path = path();
        if (path == null) return;
        try {
            Files.deleteIfExists(path);
        } catch (IOException | RuntimeException e) {
            // nothing kept, or nothing that can be removed
        }
    }
}
