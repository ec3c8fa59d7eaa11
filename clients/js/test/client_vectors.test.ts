/**
 * The conformance sections about what a client does with what it gets (credentials, releases, the
 * last-seen rule, entitlements, the licensee, data paths, consumption, the state file, leases,
 * air-gapped files, macOS and Windows readers, installer tickets), run through the functions the client itself uses.
 * Outputs are compared as canonical JSON against the exactly parsed vectors (big integers kept).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Asked, credentialOf } from "../src/answers";
import { macosHardware, volumeRoot, windowsHardware } from "../src/hardware/recorded";
import { canonicalText, isObject, parseJson, type JsonObject, type JsonValue } from "../src/json";
import { judgeLeaseAnswer, judgeStoredLease, type LeaseVerdict } from "../src/lease_documents";
import { consumptionAsWire, consumptionOutcome } from "../src/meters";
import { openResponse, requestText } from "../src/offline";
import { absoluteText } from "../src/paths";
import { releaseAsWire, releaseOf } from "../src/releases";
import { dataPathHash } from "../src/rules";
import { pinKeys } from "../src/signing";
import { stateFromBytes } from "../src/state";
import { statusOf, type Status } from "../src/status";
import { parseIso, toIso } from "../src/time";
import { ticketProblem } from "../src/tickets";
import { seenAfter } from "../src/witnesses";
import { VECTORS_PATH } from "./vectors";

// Parsed exactly: 9223372036854775807 stays itself (a bigint), as the Python core has it.
const exact = parseJson(readFileSync(VECTORS_PATH)) as JsonObject;
const cases = (section: string): JsonObject[] => exact[section] as JsonObject[];

/** Plain data of a client value: bigints and nulls kept, undefined left out, Maps none. */
function plain(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? { __big: v.toString() } : v)), (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof v.__big === "string" ? BigInt(v.__big) : v,
  ) as JsonValue;
}

function same(actual: unknown, expected: JsonValue | undefined, message?: string): void {
  assert.equal(canonicalText(plain(actual)), canonicalText(expected ?? null), message);
}

function text(value: JsonValue | undefined): string {
  return value as string;
}

function verdict(status: Status): JsonObject {
  return { allowed: status.allowed, state: status.state, reason: status.reason, days_left: status.daysLeft, features: [...status.features] };
}

function fingerprintOf(c: JsonObject): { components: Record<string, string>; dataPath: string } {
  const fp = c.fingerprint as JsonObject;
  return { components: fp.components as Record<string, string>, dataPath: text(fp.data_path) };
}

describe("credentials", () => {
  for (const c of cases("credentials")) {
    it(text(c.name), () => {
      const found = credentialOf(c.credential, c.document_device);
      const expected = c.expected as JsonObject;
      same({ valid: found !== null, credential: found }, expected);
    });
  }
});

describe("latest_release", () => {
  for (const c of cases("latest_release")) {
    it(text(c.name), () => {
      let answer: JsonValue;
      let invalid = false;
      try {
        answer = parseJson(text(c.answer));
      } catch {
        invalid = true;
        answer = null;
      }
      const release = releaseOf(answer);
      same({ invalid_answer: invalid, release: release === null ? null : releaseAsWire(release) }, c.expected);
    });
  }
});

describe("last_seen", () => {
  for (const c of cases("last_seen")) {
    it(text(c.name), () => {
      const at = (v: JsonValue | undefined): number | null => (typeof v === "string" ? parseIso(v) : null);
      const after = seenAfter(at(c.last_seen), at(c.now) as number, at(c.issued_at), Number(c.rollback_tolerance_seconds) * 1000);
      same({ rollback: after.rollback, last_seen: after.lastSeen === null ? null : toIso(after.lastSeen), offset_seconds: after.offsetSeconds }, c.expected);
    });
  }
});

describe("entitlements", () => {
  for (const c of cases("entitlements")) {
    it(text(c.name), () => {
      const status = statusOf(c.payload as JsonObject, parseIso(text(c.now)), false);
      const queries = c.queries as [string, JsonValue][];
      same(
        {
          allowed: status.allowed,
          entitlements: { ...status.entitlements },
          features: [...status.features],
          has_feature: Object.fromEntries(queries.map(([name]) => [name, status.hasFeature(name)])),
          entitlement: queries.map(([name, fallback]) => [name, fallback, status.entitlement(name, fallback as never)]),
        },
        c.expected,
      );
    });
  }
});

describe("licensee", () => {
  for (const c of cases("licensee")) {
    it(text(c.name), () => {
      const status = statusOf(c.payload as JsonObject, parseIso(text(c.now)), false);
      const maintenance = status.maintenance && { until: status.maintenance.until, newer_release: status.maintenance.newerRelease };
      same({ customer: status.customer, maintenance, latest_release: status.latestRelease && releaseAsWire(status.latestRelease) }, c.expected);
    });
  }
});

describe("data_paths", () => {
  for (const c of cases("data_paths")) {
    it(`${text(c.os)}: ${text(c.name)}`, () => {
      const absolute = absoluteText(text(c.data_dir), c.os === "windows" ? "windows" : "posix", text(c.cwd));
      same({ absolute, data_path: dataPathHash(text(c.product), absolute) }, c.expected);
    });
  }
});

describe("consumption", () => {
  for (const c of cases("consumption")) {
    it(text(c.name), () => {
      const found = consumptionOutcome(text(c.meter), parseIso(text(c.now)), Number(c.status), Buffer.from(text(c.body), "utf8"));
      same({ outcome: found.outcome, code: found.code, consumption: found.consumption && consumptionAsWire(found.consumption) }, c.expected);
    });
  }
});

describe("state", () => {
  for (const c of cases("state")) {
    it(text(c.name), () => {
      const state = stateFromBytes(Buffer.from(text(c.base64), "base64"));
      const document = isObject(state.signed) && isObject(state.signed.document) ? state.signed.document : null;
      same(
        {
          corrupt: state.corrupt, credential: state.credential, signed: state.signed, token: state.token,
          install_reported: state.installReported, last_usage_report: state.lastUsageReport, last_seen: state.lastSeen,
          clock_offset: state.clockOffset, file_clock_skew: state.fileClockSkew, escrowed: state.escrowed, facts_opt_out: state.factsOptOut,
          document_names_this_data_path: document === null ? null : document.data_path === dataPathHash(text(c.product), absoluteText(text(c.data_dir), "posix", "/")),
        },
        c.expected,
      );
    });
  }
});

function leaseAsWire(v: LeaseVerdict): JsonObject {
  if (!v.accepted) return { accepted: false, refusal: v.refusal, lease: null };
  const t = v.terms;
  return {
    accepted: true,
    refusal: null,
    lease: {
      id: t.id, state: t.borrowed ? "borrowed" : "active", expires_at: toIso(t.expiresMs), seconds_left: t.secondsLeft,
      heartbeat_seconds: t.heartbeatSeconds, entitlements: { ...t.entitlements } as JsonObject, features: [...t.features],
    },
  };
}

/** Numbers the vectors write as floats (`1800.0`) are this parser's JsonFloat: compared by value. */
function leaseExpected(expected: JsonObject): unknown {
  const lease = expected.lease;
  if (!isObject(lease)) return expected;
  const num = (v: JsonValue | undefined): number => Number((v as { text?: string }).text ?? v);
  return { ...expected, lease: { ...lease, seconds_left: num(lease.seconds_left), heartbeat_seconds: num(lease.heartbeat_seconds) } };
}

describe("leases", () => {
  for (const c of cases("leases")) {
    it(`${text(c.mode)}: ${text(c.name)}`, () => {
      const keys = pinKeys(c.pinned as string[]);
      const fingerprint = fingerprintOf(c);
      let found: LeaseVerdict;
      if (c.mode === "answer") {
        const request = c.request as JsonObject;
        const asked = new Asked(text(request.nonce), request.device as string | null, request.known === null ? null : parseJson(text(request.known)));
        found = judgeLeaseAnswer(parseJson(text(c.answer)), asked, keys, text(c.product), fingerprint);
      } else {
        found = judgeStoredLease(parseJson(text(c.signed)), keys, text(c.product), fingerprint, parseIso(text(c.now)), Number(c.offset_seconds));
      }
      assert.deepEqual(plain(leaseAsWire(found)), plain(leaseExpected(c.expected as JsonObject)));
    });
  }
});

describe("airgapped", () => {
  for (const c of cases("airgapped")) {
    it(`${text(c.mode)}: ${text(c.name)}`, () => {
      const expected = c.expected as JsonObject;
      if (c.mode === "request") {
        assert.equal(requestText(c.inputs as never), expected.text);
        return;
      }
      const found = openResponse(
        text(c.response), text(c.product), pinKeys(c.pinned as string[]), fingerprintOf(c), c.pending as JsonObject[], parseIso(text(c.now)), Number(c.offset_seconds),
      );
      same(
        found.accepted
          ? { accepted: true, refusal: null, credential: found.credential, activation: found.activation, status: verdict(found.status) }
          : { accepted: false, refusal: found.refusal, credential: null, activation: null, status: null },
        expected,
      );
    });
  }
});

describe("hardware_readers", () => {
  for (const c of cases("hardware_readers")) {
    it(`${text(c.os)}: ${text(c.name)}`, () => {
      const r = c.recorded as JsonObject;
      const node = r.node as number | bigint | null;
      if (c.os === "macos") {
        const raw = macosHardware(r.ioreg as string | null, r.machine as string | null, r.processor as string | null, node);
        same({ machine: raw.machine, disk: raw.disk, cpu: raw.cpu, mac: raw.mac, volume: null }, c.expected);
        return;
      }
      const volume = volumeRoot(absoluteText(text(c.data_dir), "windows", text(c.cwd)));
      const raw = windowsHardware(r.machine_guid, Number(r.volume_serial), (r.cpu as JsonValue[] | null) ?? [], r.machine as string | null, r.processor as string | null, node);
      same({ machine: raw.machine, disk: raw.disk, cpu: raw.cpu, mac: raw.mac, volume }, c.expected);
    });
  }
});

describe("installer_tickets", () => {
  for (const c of cases("installer_tickets")) {
    it(text(c.name), () => {
      const problem = ticketProblem(Buffer.from(text(c.file_base64), "base64"));
      same({ send: problem === null, problem }, c.expected);
    });
  }
});
