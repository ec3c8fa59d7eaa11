package dev.licentia.client;

import dev.licentia.client.hardware.RawHardware;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This installation's fingerprint: hashed hardware components plus the hashed data path. Raw
 * identifiers are hashed with the product before they are sent, so they never leave the machine.
 * Immutable.
 */
public final class Fingerprint {
    private final Map<String, String> components;
    private final String dataPath;
    private final boolean virtual;

    Fingerprint(Map<String, String> components, String dataPath, boolean virtual) {
        this.components = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(components));
        this.dataPath = dataPath;
        this.virtual = virtual;
    }

    static Fingerprint of(String product, String absoluteDataDir, RawHardware raw) {
        return withDataPath(product, Fingerprints.dataPathHash(product, absoluteDataDir), raw);
    }

    /** With the data path already hashed (it does not change for the life of a client). */
    static Fingerprint withDataPath(String product, String dataPathHash, RawHardware raw) {
        Map<String, String> components = new LinkedHashMap<>();
        String[] values = {raw.machine(), raw.disk(), raw.cpu(), raw.mac()};
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null && !values[i].isEmpty()) {
                components.put(Fingerprints.COMPONENTS.get(i), Fingerprints.componentHash(product, Fingerprints.COMPONENTS.get(i), values[i]));
            }
        }
        return new Fingerprint(components, dataPathHash, !raw.virtualSignals().isEmpty());
    }

    /** The text the data path hash is taken of, as the Python SDK takes it ({@link DataPaths}). */
    static String absolutePath(Path path) {
        return DataPaths.absolute(path.toString());
    }

    /** Hashed components by name ({@code machine}, {@code disk}, {@code cpu}, {@code mac}); immutable. */
    public Map<String, String> components() {
        return components;
    }

    /** The hashed data path. */
    public String dataPath() {
        return dataPath;
    }

    /** Whether the machine shows signs of a virtual machine or container (only the server judges them). */
    public boolean virtual() {
        return virtual;
    }

    Documents.Presented presented() {
        return new Documents.Presented(components, dataPath);
    }

    com.fasterxml.jackson.databind.node.ObjectNode toRequest() {
        com.fasterxml.jackson.databind.node.ObjectNode out = Json.object();
        com.fasterxml.jackson.databind.node.ObjectNode c = out.putObject("components");
        components.forEach(c::put);
        out.put("data_path", dataPath);
        out.put("virtual", virtual);
        return out;
    }
}
