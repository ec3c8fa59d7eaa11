/** The transport against real local HTTP servers that misbehave: slow, huge, failing, refusing. */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";

import { Offline, ServerRefused } from "../src/errors";
import { Transport } from "../src/transport";

describe("transport", () => {
  let server: Server;
  let url = "";
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    "/silent": () => undefined, // never answers
    "/dribble": (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    },
    "/huge": (_req, res) => res.end(`"${"x".repeat(2 << 20)}"`),
    "/broken": (_req, res) => res.writeHead(500).end("oops"),
    "/garbage": (_req, res) => res.end("<html>"),
    "/refuse": (_req, res) =>
      res.writeHead(429, { "Retry-After": "7" }).end(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } })),
    "/big-int": (_req, res) => res.end('{"n":9223372036854775807}'),
    "/transfer-limit": (_req, res) =>
      res.writeHead(409, { "Retry-After": "86400" }).end(
        '{"error":{"code":"transfer_limit","message":"moved too often","next_transfer_at":"2026-02-04T10:00:00Z",' +
          '"transfer_limit":3,"transfer_period_days":30,"transfers_used":3,"huge":9223372036854775807,"ratio":1.5,' +
          '"nested":{"a":1},"list":[1],"__proto__":"plain"}}',
      ),
  };

  before(async () => {
    server = createServer((req, res) => (routes[req.url ?? ""] ?? ((_q, r) => r.writeHead(404).end()))(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  });

  for (const path of ["/silent", "/dribble"]) {
    it(`gives up on ${path} at the deadline for the whole exchange`, async () => {
      const started = Date.now();
      await assert.rejects(new Transport(url, 300).request("GET", path), Offline);
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    });
  }

  it("refuses an answer beyond 1 MiB, a 5xx and garbage as offline", async () => {
    const t = new Transport(url, 3000);
    for (const path of ["/huge", "/broken", "/garbage"]) await assert.rejects(t.request("GET", path), Offline, path);
  });

  it("maps a refusal to its stable code and Retry-After", async () => {
    await assert.rejects(new Transport(url, 3000).request("GET", "/refuse"), (err: unknown) => {
      return err instanceof ServerRefused && err.code === "rate_limited" && err.status === 429 && err.retryAfter === 7;
    });
  });

  it("keeps a refusal's plain fields as its details, nothing nested, big or fractional", async () => {
    const err = await new Transport(url, 3000).request("GET", "/transfer-limit").then(
      () => assert.fail("refused"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ServerRefused);
    assert.deepEqual([err.code, err.status, err.retryAfter], ["transfer_limit", 409, 86400]);
    assert.deepEqual(Object.keys(err.details).sort(), ["__proto__", "next_transfer_at", "transfer_limit", "transfer_period_days", "transfers_used"]);
    assert.deepEqual([err.details.next_transfer_at, err.details.transfers_used, Object.getOwnPropertyDescriptor(err.details, "__proto__")?.value], ["2026-02-04T10:00:00Z", 3, "plain"]);
    assert.equal(Object.getPrototypeOf(err.details), Object.prototype, "a \"__proto__\" field never becomes a prototype");
    assert.ok(Object.isFrozen(err.details));
    const refused = await new Transport(url, 3000).request("GET", "/refuse").catch((e: unknown) => e);
    assert.ok(refused instanceof ServerRefused && Object.keys(refused.details).length === 0);
  });

  it("keeps big integers exact", async () => {
    assert.deepEqual({ ...(await new Transport(url, 3000).request("GET", "/big-int") as object) }, { n: 9223372036854775807n });
  });

  it("refuses a server URL that is not http(s)", () => {
    assert.throws(() => new Transport("file:///etc/passwd", 3000));
    assert.throws(() => new Transport("not a url", 3000));
    assert.throws(() => new Transport("http://x", 0));
  });
});
