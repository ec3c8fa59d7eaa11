package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared conformance vectors ({@code conformance/vectors.json}), read once. */
final class Vectors {
    static final Path FILE = Path.of("..", "..", "conformance", "vectors.json").toAbsolutePath().normalize();
    private static JsonNode loaded;

    private Vectors() {}

    static synchronized JsonNode all() {
        if (loaded == null) {
            try {
                loaded = Json.parse(Files.readAllBytes(FILE));
            } catch (IOException | Json.JsonException e) {
                throw new IllegalStateException("cannot read " + FILE, e);
            }
        }
        return loaded;
    }

    static JsonNode section(String name) {
        JsonNode section = all().get(name);
        if (section == null) throw new IllegalStateException("no section " + name + " in " + FILE);
        return section;
    }
}
