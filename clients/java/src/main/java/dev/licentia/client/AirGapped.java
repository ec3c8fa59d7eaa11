package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.interfaces.XECPublicKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Air-gapped activation for a machine with no network, in three steps: {@link #activationRequest}
 * writes a request file's text for a license key; the vendor turns it into a response (admin UI,
 * developer API, CLI or portal); {@link #installActivation} accepts the response only if it answers
 * a request this installation wrote, its status document verifies with the pinned key and names
 * this machine's hardware read now, and its credential opens with the private key kept in step one.
 * {@link #deactivateOffline} ends it and returns the proof that frees the seat.
 *
 * <p>Same files as the Python SDK ({@code offline_activation.py}, {@code core/airgap.py}): Ed25519
 * for the request and proof, X25519 + HKDF-SHA256 + ChaCha20-Poly1305 for the sealed credential,
 * all from the JDK. {@code <dataDir>/offline.json} is created 0600 and holds the private halves, as
 * {@code state.json} holds the device secret. Thread-safe (runs under the client's lock).
 */
public final class AirGapped {
    static final String FILE = "offline.json";
    private static final int FORMAT = 1;
    private static final int MAX_PENDING = 8;
    private static final int MAX_BYTES = 64 * 1024;

    private final Licentia lic;

    AirGapped(Licentia lic) {
        this.lic = lic;
    }

    /** Step 1: the text of a request for license {@code key}, to carry to the vendor (a typo throws before anything is written). */
    public String activationRequest(String key) {
        String normalized = LicenseKeys.normalize(key);
        return lic.locked(() -> {
            byte[] box = AirGapFiles.randomBytes(32);
            byte[] proof = AirGapFiles.randomBytes(32);
            String nonce = AirGapFiles.newNonce();
            String now = Times.toIso(lic.now());
            String text = requestText(lic.product, normalized, lic.fingerprint().toRequest(), nonce, now, box, proof,
                    lic.appVersion, Facts.osDescription());
            ObjectNode keys = load();
            ObjectNode entry = Json.object();
            entry.put("nonce", nonce);
            entry.put("box", AirGapFiles.b64e(box));
            entry.put("proof", AirGapFiles.b64e(proof));
            entry.put("created_at", now);
            ArrayNode pending = (ArrayNode) keys.get("pending");
            pending.add(entry);
            while (pending.size() > MAX_PENDING) pending.remove(0);
            save(keys);
            return text;
        });
    }

    /**
     * The request file, byte for byte as every client writes it: the claim, signed by the machine's
     * Ed25519 key {@code proof}, naming the X25519 key {@code box} the credential is sealed to.
     */
    static String requestText(String product, String key, ObjectNode fingerprint, String nonce, String createdAt,
            byte[] box, byte[] proof, String appVersion, String os) {
        KeyPair boxPair = AirGapFiles.fromSeed("X25519", box);
        KeyPair proofPair = AirGapFiles.fromSeed("Ed25519", proof);
        ObjectNode claim = Json.object();
        claim.put("v", FORMAT);
        claim.put("kind", "activation_request");
        claim.put("product", product);
        claim.put("key", key);
        claim.set("fingerprint", fingerprint);
        claim.put("nonce", nonce);
        claim.put("created_at", createdAt);
        claim.put("box_key", AirGapFiles.b64e(AirGapFiles.rawX25519Public((XECPublicKey) boxPair.getPublic())));
        claim.put("proof_key", AirGapFiles.b64e(Signing.rawPublicKey(proofPair.getPublic())));
        claim.put("app_version", appVersion);
        claim.put("os", os);
        return AirGapFiles.signedClaim(AirGapFiles.REQUEST, claim, proofPair.getPrivate());
    }

    /** A request written here and not yet answered: its nonce and its X25519 private key. */
    record Pending(String nonce, String box) {}

    /** A response opened: the first rule it fails, or what it brings and which pending request it answers. */
    record Opened(String refusal, ObjectNode signed, ObjectNode payload, Answers.Credential credential, String activation,
            int pendingIndex) {
        static Opened refused(String why) {
            return new Opened(why, null, null, null, null, -1);
        }
    }

    /**
     * Open a response in the contract's order: armored as a response (else {@code not_a_response}),
     * {@code v} 1 ({@code unknown_version}), this product ({@code other_product}), answering a pending
     * request ({@code unknown_request}), its document verifying for this installation at {@code at}
     * ({@code invalid_document}), answering that request ({@code other_request}), its credential
     * opening with that request's key ({@code sealed_elsewhere}) and naming the document's device
     * ({@code other_installation}). Pure: nothing is stored.
     */
    static Opened openResponse(String text, String product, Signing.PinnedKeys keys, Documents.Presented fingerprint,
            List<Pending> pending, Instant at) {
        ObjectNode unverified;
        try {
            unverified = AirGapFiles.unarmor(AirGapFiles.RESPONSE, text);
        } catch (InvalidAnswerException e) {
            return Opened.refused("not_a_response");
        }
        Long v = Json.integer(unverified, "v");
        if (v == null || v != FORMAT || unverified.get("v").isBoolean()) return Opened.refused("unknown_version");
        if (!product.equals(Json.text(unverified, "product"))) return Opened.refused("other_product");
        String nonce = Json.text(unverified, "request");
        int index = -1;
        for (int i = 0; i < pending.size(); i++) {
            if (nonce != null && nonce.equals(pending.get(i).nonce())) index = i;
        }
        if (index < 0) return Opened.refused("unknown_request");
        ObjectNode signed = Json.obj(unverified, "signed");
        ObjectNode payload;
        try {
            if (signed == null) throw new InvalidDocument("no signed document");
            // The hardware is read now: a response carried to another machine names other components.
            payload = Documents.verifyForInstallation(signed, null, keys, product, fingerprint, at);
        } catch (InvalidDocument e) {
            return Opened.refused("invalid_document");
        }
        ObjectNode offline = Json.obj(payload, "offline");
        if (offline == null || !nonce.equals(Json.text(offline, "request")) || !Answers.isToken(offline.get("activation"))) {
            return Opened.refused("other_request");
        }
        JsonNode opened;
        try {
            opened = Json.parse(AirGapFiles.unseal(Json.obj(unverified, "sealed"), pending.get(index).box(), nonce.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException | Json.JsonException | RuntimeException e) {
            return Opened.refused("sealed_elsewhere");
        }
        Answers.Credential credential = Answers.credentialOf(opened, Json.text(payload, "device"));
        if (credential == null) return Opened.refused("other_installation");
        return new Opened(null, signed, payload, credential, Json.text(offline, "activation"), index);
    }

    /** Step 3: install the vendor's response to one of this installation's requests; anything else is {@link InvalidAnswerException}. */
    public Status installActivation(String response) {
        return lic.locked(() -> {
            Instant now = lic.now();
            ObjectNode keys = load();
            List<Pending> pending = new ArrayList<>();
            for (JsonNode p : keys.get("pending")) pending.add(new Pending(Json.text(p, "nonce"), Json.text(p, "box")));
            State previous = lic.stateFile.load();
            Instant at = Times.serverTime(now, previous.clockOffset); // the local clock, set right by the last online answer
            Opened opened = openResponse(response, lic.product, lic.keys, lic.fingerprint().presented(), pending, at);
            if (opened.refusal() != null) {
                throw new InvalidAnswerException("this activation response does not fit this installation (" + opened.refusal() + ")");
            }
            State state = new State();
            state.signed = opened.signed();
            state.credential = opened.credential();
            String token = Json.text(opened.payload(), "token");
            state.token = Answers.isToken(token) ? token : null;
            state.lastSeen = Times.toIso(now);
            state.factsOptOut = previous.factsOptOut;
            state.clockOffset = previous.clockOffset;
            JsonNode answered = keys.get("pending").get(opened.pendingIndex());
            ((ArrayNode) keys.get("pending")).remove(opened.pendingIndex());
            ObjectNode activation = keys.putObject("activation");
            activation.put("id", opened.activation());
            activation.put("device", opened.credential().device());
            activation.put("proof", Json.text(answered, "proof"));
            keys.putNull("proof");
            save(keys);
            lic.save(state);
            return Documents.statusOf(opened.payload(), at, false);
        });
    }

    /**
     * End this installation's offline activation and return the proof that frees its seat. The local
     * activation is removed before the proof is returned, and the proof is kept, so calling again (the
     * first file was lost) gives the same proof.
     */
    public String deactivateOffline() {
        return lic.locked(() -> {
            ObjectNode keys = load();
            JsonNode activation = keys.get("activation");
            if (activation == null || !activation.isObject()) {
                String kept = Json.text(keys, "proof");
                if (kept != null && !kept.isEmpty()) return kept;
                throw new ConfigurationException("this installation holds no offline activation to deactivate");
            }
            PrivateKey signer;
            try {
                signer = KeyFactory.getInstance("Ed25519").generatePrivate(
                        new EdECPrivateKeySpec(NamedParameterSpec.ED25519, AirGapFiles.b64d(Json.text(activation, "proof"))));
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new ConfigurationException("the offline activation keys are damaged: deactivate online instead");
            }
            ObjectNode claim = Json.object();
            claim.put("v", FORMAT);
            claim.put("kind", "deactivation_proof");
            claim.put("product", lic.product);
            claim.set("activation", activation.get("id"));
            claim.set("device", activation.get("device"));
            claim.put("nonce", AirGapFiles.newNonce());
            claim.put("created_at", Times.toIso(lic.now()));
            String proof = AirGapFiles.signedClaim(AirGapFiles.PROOF, claim, signer);
            keys.putNull("activation");
            keys.put("proof", proof);
            save(keys);
            State state = lic.stateFile.load();
            if (state.signed != null && state.credential != null) {
                state.signed = null; // the license document goes: offline, this installation holds nothing now
                lic.save(state);
            }
            return proof;
        });
    }

    // -- the file ---------------------------------------------------------------------------------

    private ObjectNode load() {
        ObjectNode empty = Json.object();
        empty.put("format", FORMAT);
        empty.putArray("pending");
        empty.putNull("activation");
        empty.putNull("proof");
        byte[] raw = AtomicFiles.readSmall(lic.dataDir.resolve(FILE), MAX_BYTES);
        JsonNode found;
        try {
            found = raw == null ? null : Json.parse(raw);
        } catch (Json.JsonException e) {
            found = null;
        }
        Long format = Json.integer(found, "format");
        if (format == null || format != FORMAT) return empty; // damaged: it only ever restricts what installs
        if (found.get("pending") != null && found.get("pending").isArray()) {
            for (JsonNode p : found.get("pending")) if (p.isObject()) ((ArrayNode) empty.get("pending")).add(p);
        }
        if (found.get("activation") != null && found.get("activation").isObject()) empty.set("activation", found.get("activation"));
        if (Json.text(found, "proof") != null) empty.put("proof", Json.text(found, "proof"));
        return empty;
    }

    private void save(ObjectNode keys) {
        try {
            AtomicFiles.write(lic.dataDir.resolve(FILE), Json.write(keys));
        } catch (IOException e) {
            throw new ConfigurationException("cannot write the offline activation keys in " + lic.dataDir + ": " + AtomicFiles.describe(e), e);
        }
    }
}
