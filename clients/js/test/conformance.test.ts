/** The TypeScript SDK against the conformance vectors generated from the Python core. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Asked, judgeAnswer } from "../src/answers";
import { InvalidDocument, InvalidKey } from "../src/errors";
import { canonicalText, parseJson } from "../src/json";
import { componentHash, fingerprintMatches, normalizeKey, requiredMatches } from "../src/rules";
import { pinKeys, verifyDocument } from "../src/signing";
import { decideOffline, type Status } from "../src/status";
import { parseIso } from "../src/time";
import { vectors, type Case } from "./vectors";

/**
 * Every section of vectors.json this client runs (`linux_readers` in hardware.test.ts, the client's
 * own rules in client_vectors.test.ts). A section
 * the file gains later fails the suite until it is implemented here.
 */
export const IMPLEMENTED = new Set([
  "canonical", "signatures", "fingerprints", "license_keys", "linux_readers", "offline", "online",
  // client_vectors.test.ts:
  "credentials", "latest_release", "last_seen", "entitlements", "licensee", "data_paths", "consumption", "state", "leases", "airgapped", "hardware_readers",
  "installer_tickets",
  // trail.test.ts:
  "proxy_trail",
]);
const ABOUT_THE_FILE = new Set(["format", "about"]);

describe("the vectors file", () => {
  it("has no section this client does not run", () => {
    const missing = Object.keys(vectors).filter((name) => !ABOUT_THE_FILE.has(name) && !IMPLEMENTED.has(name));
    assert.deepEqual(missing, [], `sections of conformance/vectors.json this client does not implement: ${missing.join(", ")}`);
  });

  it("has no part of a section this client does not run", () => {
    assert.deepEqual(Object.keys(vectors.fingerprints).sort(), ["hashes", "matching"]);
  });

  it("is of the format this runner reads", () => {
    assert.equal(vectors.format, 1);
  });
});

describe("canonical JSON", () => {
  for (const c of vectors.canonical as Case[]) {
    it(c.name, () => {
      if (c.error) assert.throws(() => canonicalText(parseJson(c.json)));
      else assert.equal(canonicalText(parseJson(c.json)), c.canonical);
    });
  }
});

describe("signed documents", () => {
  for (const c of vectors.signatures as Case[]) {
    it(c.name, () => {
      const keys = pinKeys(c.pinned);
      const at = c.at ? parseIso(c.at) : undefined;
      if (!c.valid) {
        assert.throws(() => verifyDocument(c.signed, keys, c.product, at), InvalidDocument);
        return;
      }
      assert.equal(canonicalText(verifyDocument(c.signed, keys, c.product, at)), c.payload_canonical);
      // Bytes in, as read from a file, give the same answer.
      assert.equal(canonicalText(verifyDocument(Buffer.from(c.signed, "utf8"), keys, c.product, at)), c.payload_canonical);
    });
  }
});

describe("fingerprints", () => {
  for (const c of vectors.fingerprints.hashes as Case[]) {
    it(`hash: ${c.product} ${c.name} ${JSON.stringify(c.raw)}`, () => {
      assert.equal(componentHash(c.product, c.name, c.raw), c.hash);
    });
  }
  for (const c of vectors.fingerprints.matching as Case[]) {
    it(`match: ${c.name}`, () => {
      assert.equal(requiredMatches(c.presented, c.min_match), c.required);
      assert.equal(fingerprintMatches(c.stored, c.presented, c.min_match), c.matches);
    });
  }
});

describe("license keys", () => {
  for (const c of vectors.license_keys as Case[]) {
    it(c.name, () => {
      if (c.valid) assert.equal(normalizeKey(c.input), c.normalized);
      else assert.throws(() => normalizeKey(c.input), InvalidKey);
    });
  }
});

describe("offline decisions", () => {
  for (const c of vectors.offline as Case[]) {
    it(c.name, () => {
      const status = decideOffline({
        signed: c.signed,
        keys: pinKeys(c.pinned),
        product: c.product,
        fingerprint: { components: c.fingerprint.components, dataPath: c.fingerprint.data_path },
        now: parseIso(c.now),
        lastSeen: c.last_seen ? parseIso(c.last_seen) : null,
        offsetSeconds: c.offset_seconds,
        rollbackToleranceMs: c.rollback_tolerance_seconds * 1000,
      });
      assert.deepEqual(verdict(status), c.expected);
    });
  }
});

describe("online answers", () => {
  for (const c of vectors.online as Case[]) {
    it(c.name, () => {
      // The function the client runs on every answer, with this case's request instead of a fresh one.
      const { nonce, device, known } = c.request;
      const asked = new Asked(nonce, device, known === null ? null : parseJson(known));
      const fingerprint = { components: c.fingerprint.components, dataPath: c.fingerprint.data_path };
      const answer = judgeAnswer(parseJson(c.answer), asked, pinKeys(c.pinned), c.product, fingerprint, parseIso(c.now));
      const found = answer.accepted
        ? { accepted: true, refusal: null, offset_seconds: answer.clockOffset, status: verdict(answer.status) }
        : { accepted: false, refusal: answer.refusal, offset_seconds: null, status: null };
      assert.deepEqual(found, c.expected);
      if (!answer.accepted) assert.ok(answer.message.endsWith(`(${answer.refusal})`), "the error names the refusal");
    });
  }
});

function verdict(status: Status): Case {
  return { allowed: status.allowed, state: status.state, reason: status.reason, days_left: status.daysLeft, features: [...status.features] };
}
