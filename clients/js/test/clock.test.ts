/**
 * A wrong clock on the client's machine, with Debian's `faketime` (LD_PRELOAD):
 * each check runs in a child process (`runner.ts`) on the clock given, against a
 * real `licentia serve` on the right one. A clock constantly hours or days off
 * works online and then offline (judged at the server's time, by the offset the
 * last answer measured); a clock wound back after a check is noticed; a clock
 * that ran ahead and was put right is locked out offline until it goes online again.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { liveSuite, ownUserConfig } from "./support";

const RUNNER = join(__dirname, "runner.js");
const DEAD = "http://127.0.0.1:9"; // nothing listens: the check falls back to the stored document
const HOUR = 3600;
const DAY = 24 * HOUR;
const FAKETIME_MISSING = spawnSync("faketime", ["--version"]).error !== undefined;

interface Result {
  allowed: boolean;
  state: string;
  reason: string | null;
  daysLeft: number | null;
  online: boolean;
  device: string | null;
}

describe("a wrong clock on the client's machine (faketime)", {
  skip: FAKETIME_MISSING ? "faketime is not installed (Debian package faketime): the wrong-clock tests need it" : false,
}, () => {
  ownUserConfig(); // the checks' child processes inherit it
  const { server, scratch, machine } = liveSuite("clock");
  let n = 0;

  /** A data directory on a fake computer of its own. */
  function installation(): { dataDir: string; root: string } {
    n += 1;
    return { dataDir: join(scratch, `data-${n}`), root: machine().root };
  }

  /** One check with the local clock moved by `shift` (faketime's `-f`, e.g. "-5h"; null: the real clock). */
  function check(where: { dataDir: string; root: string }, shift: string | null, serverUrl = server.url): Result {
    const args = [RUNNER, JSON.stringify({ serverUrl, publicKey: server.publicKey(), ...where })];
    const done = shift === null
      ? spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30_000 })
      : spawnSync("faketime", ["-f", shift, process.execPath, ...args], { encoding: "utf8", timeout: 30_000 });
    assert.equal(done.status, 0, `the check failed: ${done.stderr}`);
    return JSON.parse(done.stdout) as Result;
  }

  function keptOffset(where: { dataDir: string }): number {
    return JSON.parse(JSON.parse(readFileSync(join(where.dataDir, "state.json"), "utf8")).state).clock_offset;
  }

  const wrongClocks: [string, string, number][] = [
    ["5 hours behind", "-5h", -5 * HOUR],
    ["2 days behind", "-2d", -2 * DAY],
    ["5 hours ahead", "+5h", 5 * HOUR],
  ];
  for (const [label, shift, seconds] of wrongClocks) {
    it(`a clock ${label}: online works, then offline works, judged at the server's time`, () => {
      const here = installation();
      const online = check(here, shift);
      assert.deepEqual([online.allowed, online.online, online.state], [true, true, "trial"]);
      const offset = keptOffset(here);
      assert.ok(Math.abs(offset + seconds) <= 5, `the offset kept (${offset} s) undoes the clock's ${seconds} s`);
      // Judged on the local clock alone, a clock behind would see the document as issued in its
      // future (invalid_document); at the server's time it grants what the server said.
      const offline = check(here, shift, DEAD);
      assert.deepEqual([offline.allowed, offline.online, offline.state, offline.device], [true, false, "trial", online.device]);
      // The same days left as online, but for the day boundary the offset's rounding may straddle.
      assert.ok(Math.abs((offline.daysLeft ?? 0) - (online.daysLeft ?? 0)) <= 1, `${offline.daysLeft} days left, online ${online.daysLeft}`);
    });
  }

  it("a clock wound back after a check (5 hours behind, then 8) is noticed offline", () => {
    const here = installation();
    assert.equal(check(here, "-5h").online, true);
    assert.equal(check(here, "-5h", DEAD).allowed, true);
    const rolled = check(here, "-8h", DEAD);
    assert.deepEqual([rolled.allowed, rolled.state, rolled.reason], [false, "clock_rollback", "clock_rollback"]);
  });

  it("a clock 2 days ahead, then put right, is locked out offline until it goes online again", () => {
    const here = installation();
    const ahead = check(here, "+2d");
    assert.deepEqual([ahead.allowed, ahead.online, ahead.state], [true, true, "trial"]);
    // The latest time seen is two days ahead of the clock put right: offline, that is a rollback.
    assert.equal(check(here, null, DEAD).reason, "clock_rollback");
    const online = check(here, null);
    assert.deepEqual([online.allowed, online.online], [true, true]);
    assert.ok(Math.abs(keptOffset(here)) <= 5, "the offset measured on the right clock");
    const offline = check(here, null, DEAD);
    assert.deepEqual([offline.allowed, offline.online, offline.state], [true, false, "trial"]);
  });
});
