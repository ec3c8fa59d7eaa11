package dev.licentia.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;

/** A product signing key the test owns: the app pins {@link #publicKey}, and {@link #sign} makes genuine documents. */
final class TestSigner {
    final String kid;
    final String publicKey;
    private final KeyPair pair;

    TestSigner() throws Exception {
        pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        byte[] raw = Signing.rawPublicKey(pair.getPublic());
        kid = Signing.keyId(raw);
        publicKey = "ed25519:" + kid + ":" + Signing.base64Url(raw);
    }

    ObjectNode sign(ObjectNode document) throws Exception {
        Signature signer = Signature.getInstance("Ed25519");
        signer.initSign(pair.getPrivate());
        signer.update(Canonical.bytes(document));
        ObjectNode signed = Json.object();
        signed.set("document", document);
        signed.put("kid", kid);
        signed.put("sig", Signing.base64Url(signer.sign()));
        return signed;
    }
}
