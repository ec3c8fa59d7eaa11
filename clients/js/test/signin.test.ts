/** Signing the user in by the device flow (RFC 8628): the polling rules, then end to end against a real `licentia serve`. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, it } from "node:test";

import { Licentia, Offline, ServerRefused, type Status } from "../src";
import { finishSignIn, signInCodeOf, type Waiting } from "../src/signin";
import { decideSignIn, liveSuite, ownUserConfig } from "./support";

const LEAD = "lead@team.example";

/** A clock that moves only when the poller sleeps: what it slept, in seconds. */
function fakeWaiting(): Waiting & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms / 1000);
      t += ms;
    },
  };
}

const CODE = { device_code: "secret-device-code", user_code: "BDFG-HJKM", verification_uri: "https://l.example/portal/device", expires_in: 900, interval: 5 };

describe("the sign-in's polling rules", () => {
  it("polls every interval, and slow_down adds 5 seconds from then on", async () => {
    const waiting = fakeWaiting();
    const answers = ["authorization_pending", "slow_down", "authorization_pending"];
    const codes: string[] = [];
    const status = await finishSignIn(async (deviceCode) => {
      codes.push(deviceCode);
      const next = answers.shift();
      if (next) throw new ServerRefused(next, "not yet");
      return { user: LEAD } as Status;
    }, signInCodeOf(CODE), undefined, waiting);
    assert.equal(status.user, LEAD);
    assert.deepEqual(waiting.slept, [5, 5, 10, 10]);
    assert.deepEqual(codes, Array(4).fill("secret-device-code"));
  });

  it("stops at the deadline (Offline), and a refusal ends it with the server's code", async () => {
    const waiting = fakeWaiting();
    const pending = async (): Promise<Status> => {
      throw new ServerRefused("authorization_pending", "not yet");
    };
    await assert.rejects(finishSignIn(pending, signInCodeOf(CODE), 12_000, waiting), Offline);
    assert.deepEqual(waiting.slept, [5, 5, 2]);
    for (const code of ["access_denied", "expired_token", "invalid_grant"]) {
      const refused = async (): Promise<Status> => {
        throw new ServerRefused(code, "no");
      };
      await assert.rejects(finishSignIn(refused, signInCodeOf(CODE), undefined, fakeWaiting()), (err: unknown) => err instanceof ServerRefused && err.code === code);
    }
  });

  it("the code to show never shows its device code, and a malformed answer is refused", () => {
    const code = signInCodeOf(CODE);
    assert.equal(code.verificationUriComplete, CODE.verification_uri);
    assert.ok(!JSON.stringify(code).includes("secret") && !inspect(code).includes("secret"));
    for (const bad of [{ ...CODE, verification_uri: "javascript:alert(1)" }, { ...CODE, interval: 0 }, { ...CODE, user_code: "A\nB" }, { ...CODE, device_code: "" }, []]) {
      assert.throws(() => signInCodeOf(bad), /sign-in answer/);
    }
  });
});

describe("signing the user in against a real server", () => {
  ownUserConfig();
  const { server, scratch, machine } = liveSuite("signin", { LICENTIA_DEVICE_POLL_SECONDS: "1" });
  let n = 0;

  function app(): Licentia {
    n += 1;
    if (n === 1) {
      server.cli("policy", "create", "my-app", "Team", "--set", "seat_unit=user", "--set", "max_devices=2", "--set", "machines_per_user=2");
      server.cli("license", "issue", "--product", "my-app", "--email", LEAD, "--policy", "Team");
    }
    return new Licentia({ serverUrl: server.url, product: "my-app", publicKey: server.publicKey(), dataDir: join(scratch, `data-${n}`), hardware: { root: machine().root } });
  }

  it("the person confirms the code: the status names them, offline too, and the device code is kept nowhere", async () => {
    const lic = app();
    assert.equal((await lic.check()).user, null);
    const code = await lic.beginSignIn();
    assert.equal(code.userCode.length, 9);
    assert.ok(code.verificationUri.endsWith("/portal/device") && code.verificationUriComplete.includes("?code="));
    const waiting = lic.finishSignIn(code, { timeoutMs: 60_000 });
    decideSignIn(server, "approve", code.userCode, LEAD);
    const status = await waiting;
    assert.deepEqual([status.state, status.user, status.allowed, status.online], ["registered", LEAD, true, true]);
    const offline = await lic.check({ online: false });
    assert.deepEqual([offline.state, offline.user], ["registered", LEAD]);
    assert.equal((await lic.check()).user, LEAD);
    const saved = readFileSync(join(lic.dataDir, "state.json"), "utf8");
    assert.ok(!saved.includes(`"device_code"`));

    // The one-call form, on a second computer of the same person.
    const desktop = app();
    const shown: string[] = [];
    const again = await desktop.signIn((c) => {
      shown.push(c.userCode);
      decideSignIn(server, "approve", c.userCode, LEAD);
    }, { timeoutMs: 60_000 });
    assert.equal(again.user, LEAD);
    assert.equal(shown.length, 1);
  });

  it("a refused sign-in is access_denied, an expired one expired_token, and the app stays as it was", async () => {
    const lic = app();
    await lic.check();
    const code = await lic.beginSignIn();
    const waiting = lic.finishSignIn(code, { timeoutMs: 60_000 });
    decideSignIn(server, "deny", code.userCode, LEAD);
    await assert.rejects(waiting, (err: unknown) => err instanceof ServerRefused && err.code === "access_denied");
    const late = await lic.beginSignIn();
    decideSignIn(server, "expire", late.userCode);
    await assert.rejects(lic.finishSignIn(late, { timeoutMs: 60_000 }), (err: unknown) => err instanceof ServerRefused && err.code === "expired_token");
    const status = await lic.check();
    assert.deepEqual([status.state, status.user], ["trial", null]);
  });
});
