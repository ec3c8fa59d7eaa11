/** Client facts: off by default, the user's opt-out and DO_NOT_TRACK win, free fields bounded. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";

import { ConfigurationError, Licentia } from "../src";
import { collectFacts, escapeFact, FACT_NAMES, factsDisabledByEnvironment } from "../src/facts";
import { ownUserConfig, tempDir } from "./support";

const KEY = "ed25519:e5453c542f32c093:hE99QWF21KEbZyi2w-beRB6-nrFBj0KuB9WE2LEgW_k";

function app(extra: Record<string, unknown> = {}): Licentia {
  return new Licentia({ serverUrl: "http://127.0.0.1:9", product: "my-app", publicKey: KEY, dataDir: join(tempDir("facts"), "d"), ...extra });
}

describe("client facts", () => {
  ownUserConfig();
  it("are empty unless the application turns them on", async () => {
    assert.deepEqual(await app().facts(), {});
    const facts = await app({ facts: ["os_name", "local_time"], authors: ["Ada\tLovelace"] }).facts();
    assert.deepEqual(Object.keys(facts).sort(), ["author_1", "local_time", "os_name"]);
    assert.equal(facts.author_1, "Ada\\tLovelace");
  });

  it("all known names read without error, values escaped and bounded", async () => {
    const facts = await collectFacts(FACT_NAMES);
    for (const value of Object.values(facts)) assert.ok(value.length <= 500 && !/[\t\n\r]/.test(value));
    assert.equal(escapeFact("a\nb".repeat(400)).length, 500);
  });

  it("read the Windows registered owner and organisation through reg.exe, only on Windows", async () => {
    const run = (file: string, args: readonly string[]): string | null =>
      file.endsWith("reg.exe") && args[1] === "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
        ? "\r\nHKEY_LOCAL_MACHINE\\...\r\n    RegisteredOwner    REG_SZ    Ada Lovelace\r\n    RegisteredOrganization    REG_SZ    Analytical Engines Ltd\r\n"
        : null;
    const names = ["registered_owner", "registered_organization"];
    assert.deepEqual(await collectFacts(names, [], [], { platform: "win32", run, env: { SystemRoot: "C:\\Windows" } }), {
      registered_owner: "Ada Lovelace",
      registered_organization: "Analytical Engines Ltd",
    });
    assert.deepEqual(await collectFacts(names, [], [], { platform: "linux", run }), {});
  });

  it("refuse unknown names and too many free fields at construction", () => {
    assert.throws(() => app({ facts: ["serial_number"] }), ConfigurationError);
    assert.throws(() => app({ trackers: Array(11).fill("x") }), ConfigurationError);
  });

  it("are off under DO_NOT_TRACK or after the user's opt-out", async () => {
    assert.equal(factsDisabledByEnvironment({ DO_NOT_TRACK: "1" }), true);
    assert.equal(factsDisabledByEnvironment({ LICENTIA_NO_FACTS: "yes" }), true);
    assert.equal(factsDisabledByEnvironment({}), false);
    const lic = app({ facts: true });
    assert.notDeepEqual(await lic.facts(), {});
    await lic.optOutOfFacts();
    assert.deepEqual(await lic.facts(), {});
    assert.deepEqual(await app({ facts: true, dataDir: lic.dataDir }).facts(), {}, "the opt-out is kept in the data directory");
  });
});
