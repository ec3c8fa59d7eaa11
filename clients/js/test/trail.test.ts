/**
 * The proxy-log trail: the `proxy_trail` section of the conformance vectors (in
 * conformance/vectors-pending.json until every client follows it), and against a real server
 * through a recording proxy: GETs before the POST, recorded once, never a key or a credential.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { Licentia } from "../src";
import { parseIso } from "../src/time";
import { trailTargets, usageDue } from "../src/trail";
import { FakeMachine, LiveServer, RecordingProxy, ownUserConfig, tempDir } from "./support";
import { vectors, VECTORS_PATH, type Case } from "./vectors";

const PENDING: Case = JSON.parse(readFileSync(join(VECTORS_PATH, "..", "vectors-pending.json"), "ascii"));
/** The pending sections this client runs (here); a pending section it does not know fails the suite. */
const PENDING_IMPLEMENTED = new Set(["proxy_trail"]);

describe("the pending vectors file", () => {
  it("has no section this client does not run", () => {
    const missing = Object.keys(PENDING).filter((name) => !["format", "about"].includes(name) && !PENDING_IMPLEMENTED.has(name));
    assert.deepEqual(missing, [], `sections of conformance/vectors-pending.json this client does not implement: ${missing.join(", ")}`);
  });
});

describe("proxy_trail", () => {
  const cases = (PENDING.proxy_trail ?? vectors.proxy_trail) as Case[];
  it("has its cases", () => assert.ok(cases.length > 20));
  for (const c of cases) {
    it(c.name, () => {
      if (c.kind === "targets") {
        assert.deepEqual({ targets: trailTargets(c.product, c.mode, c.event_id, c.fields) }, c.expected);
      } else {
        const payload: Case = { usage_report_once: true, usage_report_days: c.usage_report_days };
        if (c.registered_at !== null) payload.registered_at = c.registered_at;
        assert.deepEqual({ send: usageDue(payload, c.last_usage_report, parseIso(c.now)) }, c.expected);
      }
    });
  }
});

describe("the proxy-log trail against a real server", () => {
  ownUserConfig();
  const server = new LiveServer();
  const scratch = tempDir("trail");

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
  });

  it("sends each report as GETs before its POST, recorded once and never with a secret", async () => {
    server.cli("product", "facts", "my-app", "--enable");
    server.cli("product", "trail", "my-app", "--on");
    const key = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c");
    const proxy = await new RecordingProxy(server.url).start();
    try {
      const machine = new FakeMachine(join(scratch, "machine"));
      const lic = new Licentia({
        serverUrl: proxy.url,
        product: "my-app",
        publicKey: server.publicKey(),
        dataDir: join(scratch, "data"),
        hardware: { root: machine.root },
        appVersion: "1.4 beta",
        facts: ["user_name"],
        trackers: ["R&D = 100%"],
      });
      const first = await lic.check();
      await lic.activate(key);
      await lic.check();
      assert.equal(lic.queue.count(), 0);
      const paths = proxy.exchanges.map((e) => e.path);
      const trails = paths.filter((p) => p.startsWith("/v1/trail?"));
      const install = trails.find((p) => p.includes("&m=install&")) ?? "";
      const usage = trails.find((p) => p.includes("&m=usage&")) ?? "";
      for (const target of [install, usage]) {
        assert.match(target, /^\/v1\/trail\?p=my-app&m=(install|usage)&i=[0-9a-f]+&n=1&version=1\.4%20beta&/);
        assert.ok(target.endsWith("&tracker_1=R%26D%20%3D%20100%25&end=1"), target);
        assert.ok(paths.indexOf(target) < paths.lastIndexOf("/v1/events"), "the GET before the POST");
        assert.ok(!target.includes(key) && !target.includes(key.slice(0, 5)) && !target.includes(first.device ?? "?"));
      }
      const eventId = /&i=([0-9a-f]+)&/.exec(install)?.[1] ?? "";
      const report = JSON.parse(server.cli("evidence", "--device", first.device ?? "", "--format", "json"));
      const events = (report.document ?? report).events as Case[];
      const installs = events.filter((e) => e.kind === "install");
      assert.equal(installs.length, 1);
      assert.equal(installs[0]?.trail?.fields?.tracker_1, "R&D = 100%", "recorded once, beside the posted install");
      assert.equal(installs[0]?.trail?.parts, 1);
      assert.ok(eventId.length > 0);
    } finally {
      await proxy.stop();
      server.cli("product", "trail", "my-app", "--off");
    }
  });
});
