package dev.licentia.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An explicit move: the installation kept in a previous data folder on this computer, adopted by a
 * new (empty) one. Same steps as the Python SDK's {@code licentia.client.moves}: the server records
 * the move, rotates the token and names the new data path in the document; the state left in the
 * old folder is then a copy and stops working there.
 */
final class Moves {
    static final String PATH = "/v1/move";

    private Moves() {}

    /**
     * Throws {@link ConfigurationException} when the old folder holds no installation or is this one,
     * or when this folder already holds one; the server's refusals ({@code other_machine},
     * {@code stale_token}...) otherwise. Nothing changes in either folder then.
     */
    static Status moveFrom(Licentia lic, Path oldDataDir) {
        if (oldDataDir == null) throw new ConfigurationException("the old data folder is required");
        Path oldDir = Path.of(Fingerprint.absolutePath(oldDataDir));
        if (oldDir.equals(lic.dataDir)) throw new ConfigurationException("the old data folder is this installation's own");
        State.StateFile oldFile = new State.StateFile(oldDir);
        State state = oldFile.load();
        if (state.credential == null) throw new ConfigurationException("no installation's state in " + oldDir);
        if (lic.stateFile.load().credential != null) {
            throw new ConfigurationException(lic.dataDir + " already holds an installation: move into an empty data folder");
        }
        // A check's body with THIS folder's data path, sent with the old state's credential and token.
        Fingerprint fingerprint = lic.fingerprint();
        DeviceCalls.Exchange exchange = DeviceCalls.post(lic, PATH, fingerprint, state,
                Licentia.deadlineAfter(lic.transport.timeout), Json.object());
        Status status = DeviceCalls.accept(lic, PATH, exchange, state, fingerprint);
        lic.escrow.save(state.credential); // escrowed under the new data path
        lic.escrow.forPath(Fingerprints.dataPathHash(lic.product, oldDir.toString())).forget();
        try {
            Files.deleteIfExists(oldFile.path); // void on the server now: do not leave it to be run
        } catch (IOException | RuntimeException e) {
            // a read-only folder: it checks in as a copy there
        }
        return status;
    }
}
