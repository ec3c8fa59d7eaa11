package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The installer ticket: the signed file a download carries beside the installer
 * ({@value #FILE_NAME}). The application passes its path to {@link LicentiaBuilder#installerTicket};
 * the client sends its text with the first check only, when the installation has no credential yet.
 * The server starts the installation's token chain from it, and records another computer starting
 * from the same file as a copy of that download.
 *
 * <p>What a client must not send (the conformance vectors' {@code installer_tickets} rule, the same
 * in every client): a file larger than {@value #MAX_BYTES} bytes, not UTF-8 JSON, or not a signed
 * installer ticket. Such a file is skipped, logged, and the first contact goes on without it: a
 * damaged file must not stop the application. The signature is never verified here (the server
 * does, and refuses a forged or edited ticket with {@code invalid_installer_ticket}). A missing file
 * is no ticket.
 */
public final class InstallerTickets {
    /** The file's name, as the installer puts it beside the program. */
    public static final String FILE_NAME = "licentia-ticket.json";
    /** The largest file a client sends; a larger one is not a ticket the server minted. */
    public static final int MAX_BYTES = 4096;

    private static final System.Logger LOG = System.getLogger("dev.licentia.client");

    private InstallerTickets() {}

    /** Why {@code raw} must not be sent as an installer ticket, or null when it may be. */
    static String problem(byte[] raw) {
        if (raw.length > MAX_BYTES) return "larger than " + MAX_BYTES + " bytes";
        JsonNode signed;
        try {
            // Strict UTF-8 first: Jackson alone would take a byte-order mark as UTF-16.
            String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw)).toString();
            signed = Json.parse(text);
        } catch (CharacterCodingException | Json.JsonException e) {
            return "not UTF-8 JSON";
        }
        JsonNode document = signed.isObject() ? signed.get("document") : null;
        if (document == null || !document.isObject() || !"installer_ticket".equals(Json.text(document, "kind"))) {
            return "not an installer ticket";
        }
        if (!signed.path("kid").isTextual() || !signed.path("sig").isTextual()) return "not a signed document";
        return null;
    }

    /** The ticket's text to send at first contact, or null (no path, no file, or one a client must not send). */
    static String read(Path path) {
        if (path == null) return null;
        byte[] raw;
        try (InputStream in = Files.newInputStream(path)) {
            raw = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException | RuntimeException e) {
            return null; // no ticket beside this installation: a first contact as any other
        }
        String problem = problem(raw);
        if (problem != null) {
            LOG.log(System.Logger.Level.WARNING, "installer ticket {0} not sent: {1}", path, problem);
            return null;
        }
        String text = new String(raw, StandardCharsets.UTF_8).strip();
        return text.isEmpty() ? null : text;
    }
}
