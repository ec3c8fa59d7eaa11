/** The sealed state file and the durable event queue on a real file system. */

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { EventQueue } from "../src/queue";
import { emptyState, StateFile, stateMac } from "../src/state";
import { Transport } from "../src/transport";
import { tempDir } from "./support";

const DOC = { document: { product: "my-app", grace_days: 9223372036854775807n, note: "ünï 😀" }, kid: "k", sig: "s" };

describe("state file", () => {
  it("round-trips a sealed state with exact big integers, written 0600 with no temporary file left", () => {
    const dir = tempDir("state");
    const file = new StateFile(dir);
    file.save({ ...emptyState(), signed: DOC, credential: ["dv_1", "secret"], token: "t1", lastSeen: "2026-03-01T12:00:00Z" });
    const back = file.load();
    assert.equal(back.corrupt, false);
    assert.deepEqual(back.credential, ["dv_1", "secret"]);
    assert.equal((back.signed as typeof DOC).document.grace_days, 9223372036854775807n);
    assert.equal(back.lastSeen, "2026-03-01T12:00:00Z");
    assert.equal(statSync(file.path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["state.json"]);
  });

  it("uses the Python SDK's seal: HMAC-SHA256 keyed from the device secret over device and body", () => {
    const dir = tempDir("state");
    const file = new StateFile(dir);
    file.save({ ...emptyState(), credential: ["dv_1", "secret"], token: "t1" });
    const outer = JSON.parse(readFileSync(file.path, "utf8"));
    assert.equal(outer.mac, stateMac("dv_1", "secret", outer.state));
    // Re-sealed with another secret, or edited, it is no state at all.
    writeFileSync(file.path, JSON.stringify({ ...outer, state: outer.state.replace("t1", "t2") }));
    assert.deepEqual([file.load().corrupt, file.load().credential], [true, null]);
  });

  it("keeps the clock's offset as the integer clock_offset of the sealed body; anything else reads as none", () => {
    const dir = tempDir("state");
    const file = new StateFile(dir);
    file.save({ ...emptyState(), credential: ["dv_1", "secret"], clockOffset: -172800 });
    const outer = JSON.parse(readFileSync(file.path, "utf8"));
    assert.equal(JSON.parse(outer.state).clock_offset, -172800);
    assert.equal(file.load().clockOffset, -172800);
    // Sealed by the Python SDK or an older one: a missing, non-integer or absurd offset is 0.
    const reseal = (body: string): number => {
      writeFileSync(file.path, JSON.stringify({ ...outer, state: body, mac: stateMac("dv_1", "secret", body) }));
      const state = file.load();
      assert.equal(state.corrupt, false);
      return state.clockOffset;
    };
    assert.equal(reseal('{"clock_offset":18000,"token":"t1"}'), 18000);
    for (const value of ["", ',"clock_offset":"5"', ',"clock_offset":5.0', ',"clock_offset":true', ',"clock_offset":null', ',"clock_offset":9223372036854775807']) {
      assert.equal(reseal(`{"token":"t1"${value}}`), 0, value);
    }
  });

  it("before a credential keeps only the facts opt-out, and treats garbage as corrupt, never throwing", () => {
    const dir = tempDir("state");
    const file = new StateFile(dir);
    file.save({ ...emptyState(), factsOptOut: true, token: "ignored" });
    assert.deepEqual(JSON.parse(readFileSync(file.path, "utf8")), { format: 2, facts_opt_out: true });
    for (const garbage of ["", "[", "[]", '{"format":2,"device":"d"}', "\u0000\u00ff", "[".repeat(100000)]) {
      writeFileSync(file.path, garbage);
      assert.equal(file.load().corrupt, true, JSON.stringify(garbage.slice(0, 20)));
    }
    assert.equal(new StateFile(join(dir, "absent")).load().corrupt, false);
  });
});

describe("event queue", () => {
  it("keeps events on disk, in order, 0600, until a server acknowledges them", async () => {
    const dir = tempDir("queue");
    const queue = new EventQueue(dir);
    const ids = ["install", "usage", "feedback", "uninstall"].map((kind, i) => queue.add(kind, Date.UTC(2026, 2, 1) + i, { n: i }));
    assert.deepEqual(queue.pending().map((p) => p.event.id), ids);
    for (const name of readdirSync(queue.dir)) assert.equal(statSync(join(queue.dir, name)).mode & 0o777, 0o600);
    // A fresh queue object (a restarted app) sees the same events.
    assert.equal(new EventQueue(dir).count(), 4);
    const result = await queue.flush(new Transport("http://127.0.0.1:9", 200), ["dv_1", "s"], Date.now() + 300);
    assert.deepEqual([result.sent, result.remaining], [0, 4]);
    assert.throws(() => queue.add("bogus", 0), RangeError);
  });

  it("drops a damaged event file instead of blocking the queue", () => {
    const queue = new EventQueue(tempDir("queue"));
    queue.add("install", 0);
    writeFileSync(join(queue.dir, "000-damaged.json"), "{");
    assert.deepEqual(queue.pending().map((p) => p.event.kind), ["install"]);
    assert.equal(queue.count(), 1);
  });
});
