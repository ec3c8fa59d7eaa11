/** The npm package as an application gets it: the exports map (require and import), the files shipped, and typed values. */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { releaseOf } from "../src/releases";
import { entitlementsInForce, statusOf } from "../src/status";
import { parseIso } from "../src/time";

const PACKAGE_DIR = join(__dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8"));

describe("the npm package", () => {
  it("declares its types, module entries, files, engines and an SPDX license", () => {
    assert.deepEqual(pkg.exports["."], { types: "./dist/index.d.ts", import: "./dist/index.js", require: "./dist/index.js", default: "./dist/index.js" });
    assert.equal(pkg.license, "Apache-2.0", "the project's license (LICENSE at the repository's root)");
    assert.equal(pkg.engines.node, ">=18");
    assert.ok(pkg.files.every((f: string) => f.startsWith("dist/") || f === "README.md"));
  });

  for (const [how, code] of [
    ["require", "const m = require('@licentia/client'); console.log(typeof m.Licentia, m.CLIENT_VERSION)"],
    ["import", "import('@licentia/client').then((m) => console.log(typeof m.Licentia, m.CLIENT_VERSION))"],
  ] as const) {
    it(`loads by its name with ${how} (the exports map)`, () => {
      const done = spawnSync(process.execPath, ["-e", code], { cwd: PACKAGE_DIR, encoding: "utf8", timeout: 20_000 });
      assert.equal(done.stdout.trim(), `function ${pkg.version}`, done.stderr);
    });
  }

  it("ships only the built code, its type declarations and the README", () => {
    const done = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE_DIR, encoding: "utf8", timeout: 60_000 });
    assert.equal(done.status, 0, done.stderr);
    const files: string[] = JSON.parse(done.stdout)[0].files.map((f: { path: string }) => f.path);
    assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts") && files.includes("package.json"), files.join(" "));
    assert.deepEqual(files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f) && !["README.md", "package.json"].includes(f)), []);
  });
});

describe("typed values of a verified document", () => {
  const now = parseIso("2026-01-05T09:00:00Z");
  const payload = {
    status: "registered", issued_at: "2026-01-05T09:00:00Z", lease_until: "2026-01-12T09:00:00Z", grace_days: 7,
    features: ["export_pdf"],
    license: { expires_at: null, customer: { id: 42, name: "Acme GmbH" } },
    entitlements: {
      export_pdf: { value: true, expires_at: null },
      max_projects: { value: 10, expires_at: null },
      edition: { value: "pro", expires_at: "2026-03-31T00:00:00Z" },
      beta_tools: { value: true, expires_at: "2026-01-01T00:00:00Z" },
      broken_expiry: { value: true, expires_at: "soon" },
      a_float: { value: 1.5, expires_at: null },
      nested: { value: { a: 1 }, expires_at: null },
      not_an_entry: true,
    },
    maintenance: { until: "2027-01-05T09:00:00Z", newer_release: { version: "3.0.0", channel: "stable", download_url: "ftp://x" } },
    latest_release: { version: "2.4.1", channel: "stable", download_url: "javascript:alert(1)", extra: "x" },
  };

  it("entitlements in force: typed, past their expiry or malformed absent, none while not allowed", () => {
    const status = statusOf(JSON.parse(JSON.stringify(payload)), now, true);
    assert.deepEqual({ ...status.entitlements }, { export_pdf: true, max_projects: 10, edition: "pro" });
    assert.deepEqual([status.entitlement("max_projects"), status.entitlement("beta_tools", false), status.entitlement("nope")], [10, false, undefined]);
    assert.deepEqual(status.customer, { id: 42, name: "Acme GmbH" });
    assert.deepEqual(status.maintenance, { until: "2027-01-05T09:00:00Z", newerRelease: { version: "3.0.0", channel: "stable" } });
    assert.equal(status.latestRelease?.downloadUrl, null, "a signed release's URL is held to https: too");
    const blocked = statusOf(JSON.parse(JSON.stringify({ ...payload, status: "blocked" })), now, true);
    assert.deepEqual([blocked.entitlement("edition"), blocked.customer?.name], [undefined, "Acme GmbH"]);
    const older = statusOf(JSON.parse(JSON.stringify({ ...payload, entitlements: undefined })), now, true);
    assert.deepEqual({ ...older.entitlements }, { export_pdf: true }, "from features, for documents of older servers");
    assert.deepEqual({ ...entitlementsInForce({ __proto__: { value: 1, expires_at: null } } as never, now) }, {});
    assert.equal(releaseOf({ version: "1.0", download_url: "https://example.com/a" })?.downloadUrl, "https://example.com/a");
  });
});
