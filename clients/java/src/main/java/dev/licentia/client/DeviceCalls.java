package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;

/**
 * The online exchange of a device call (check, activate, deactivate, move): POST with a fresh
 * nonce, bind the answer to the request, verify it for this installation, then keep it. Runs under
 * the client's lock; mutates and saves the state it is given.
 */
final class DeviceCalls {
    private DeviceCalls() {}

    /** What one POST asked, and what came back. */
    record Exchange(JsonNode answer, Answers.Asked asked) {}

    /**
     * POST a device call, verify and store the answer. With no credential in the data folder
     * (uninstalled, or a damaged state), a reinstall resumes its installation from the escrow: its
     * credential and no token, said with {@code "resumed": true}.
     */
    static Status call(Licentia lic, String path, State state, long deadline, ObjectNode extra) {
        Fingerprint fingerprint = lic.fingerprint(); // read afresh on every call
        boolean resumed = false;
        if (state.credential == null) {
            Answers.Credential kept = lic.escrow.load();
            if (kept != null) {
                state.credential = kept;
                state.token = null;
                state.installReported = true; // reported when first installed
                state.escrowed = true;
                resumed = true;
            }
        }
        if (!path.equals("/v1/check") && state.credential == null) {
            call(lic, "/v1/check", state, deadline, Json.object()); // first contact issues the credential
        }
        Exchange exchange;
        try {
            exchange = post(lic, path, fingerprint, state, deadline, withResumed(extra, resumed && state.token == null));
        } catch (ServerRefusedException e) {
            if (!ErrorCodes.INVALID_CREDENTIAL.equals(e.code()) || state.credential == null) throw e;
            // The secret is void (re-identified elsewhere, a state restored from an old copy, an old escrow):
            // drop it, let the fingerprint re-identify this device, and try once more.
            state.credential = null;
            state.installReported = false;
            if (!path.equals("/v1/check")) call(lic, "/v1/check", state, deadline, Json.object());
            exchange = post(lic, path, fingerprint, state, deadline, extra);
        }
        return accept(lic, path, exchange, state, fingerprint);
    }

    private static ObjectNode withResumed(ObjectNode extra, boolean resumed) {
        if (!resumed) return extra;
        ObjectNode out = extra.deepCopy();
        out.put("resumed", true);
        return out;
    }

    /** POST with a fresh nonce and the state's credential and token (without a credential: the installer ticket, if any). */
    static Exchange post(Licentia lic, String path, Fingerprint fingerprint, State state, long deadline, ObjectNode extra) {
        long left = Licentia.millisLeft(deadline);
        if (left <= 0) throw new OfflineException("no time left before the timeout");
        Answers.Asked asked = Answers.Asked.by(state);
        ObjectNode body = Json.object();
        body.put("product", lic.product);
        body.set("fingerprint", fingerprint.toRequest());
        body.put("token", state.token);
        body.put("app_version", lic.appVersion);
        body.put("os", Facts.osDescription());
        body.put("channel", lic.channel);
        ObjectNode facts = body.putObject("facts");
        lic.facts().forEach(facts::put);
        if (state.credential == null) {
            String ticket = InstallerTickets.read(lic.installerTicket); // first contact only
            if (ticket != null) body.put("installer_ticket", ticket);
        }
        body.setAll(extra);
        body.put("nonce", asked.nonce());
        JsonNode answer = lic.transport.request(Transport.Call.post(path, body, state.credential), Duration.ofMillis(left));
        return new Exchange(answer, asked);
    }

    /**
     * Verify the server's answer, and that it answers this request, before anything of it is stored.
     * A genuine answer of another time, request or installation (a fake server replaying what it
     * saved) is refused like a bad signature, naming the rule.
     */
    static Status accept(Licentia lic, String path, Exchange exchange, State state, Fingerprint fingerprint) {
        Instant received = lic.now();
        Answers.Verdict verdict = Answers.judge(exchange.answer(), exchange.asked(), lic.keys, lic.product,
                fingerprint.presented(), received);
        if (!verdict.accepted()) throw new InvalidAnswerException(verdict.message());
        Answers.Credential issued = verdict.credential();
        if (issued != null) {
            // A new credential (first contact, or re-identified: the old secret is void) is escrowed
            // outside the data folder too, so that a reinstall resumes this installation.
            if (!issued.equals(state.credential) || !state.escrowed) {
                lic.escrow.save(issued);
                state.escrowed = true;
            }
            state.credential = issued;
        }
        if (verdict.token() != null) state.token = verdict.token(); // null: "suspected copy", keep ours
        state.signed = verdict.signed();
        // The answer is fresh (it carries this request's nonce): its time is the server's now. Offline,
        // the status is judged at the local clock plus this offset, and rollback on local times only.
        state.clockOffset = verdict.clockOffset();
        state.lastSeen = Times.toIso(received);
        Status status = verdict.status();
        try {
            lic.save(state);
        } catch (ConfigurationException e) {
            // A check still answers from what it verified; activation and the others must say it was not kept.
            if (!path.equals("/v1/check")) throw e;
            status = status.notSaved();
        }
        Witnesses.settle(lic, received, lic.rollbackTolerance, state.fileClockSkew);
        return status; // judged at the server's time: a wrong local clock does not change what it said
    }

    static void afterOnlineCheck(Licentia lic, State state, Instant now, long deadline) {
        ObjectNode payload = Json.obj(state.signed, "document");
        boolean changed = false;
        ObjectNode data = Json.object();
        data.put("app_version", lic.appVersion);
        if (!state.installReported) {
            lic.queue.add(EventKinds.INSTALL, now, data, lic.facts());
            state.installReported = true;
            changed = true;
        }
        if (DeviceStatuses.REGISTERED.equals(Json.text(payload, "status"))
                && Trail.usageDue(payload, state.lastUsageReport, now)) {
            lic.queue.add(EventKinds.USAGE, now, data, lic.facts());
            state.lastUsageReport = Times.toIso(now);
            changed = true;
        }
        if (changed) lic.save(state);
        lic.flushWith(state, deadline);
    }
}
