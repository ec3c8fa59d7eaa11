/**
 * The installer ticket beside the program, end to end: the SDK sends it with the first check to a
 * real `licentia serve` (SQLite in a temporary data dir). A leaked download started on another
 * computer is recorded as a copy of it; an edited ticket is refused; a damaged one is not sent.
 */

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { Licentia, ServerRefused, TICKET_FILE, type LicentiaOptions } from "../src";
import { liveSuite, ownUserConfig, RecordingProxy, type FakeMachine } from "./support";

describe("installer tickets against a real server", () => {
  const config = ownUserConfig();
  const { server, scratch, machine } = liveSuite("tickets");
  let n = 0;

  function folder(name: string): string {
    n += 1;
    return join(scratch, `${name}-${n}`);
  }

  function app(on: FakeMachine, extra: Partial<LicentiaOptions> = {}): Licentia {
    const dataDir = folder("data");
    return new Licentia({ serverUrl: server.url, product: "my-app", publicKey: server.publicKey(), dataDir, hardware: { root: on.root }, ...extra });
  }

  /** A download's ticket, minted with the CLI into a folder of its own: its path and id. */
  function mint(): { path: string; id: string } {
    const dir = folder("download");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, TICKET_FILE);
    const id = server.cli("ticket", "mint", "--product", "my-app", "--out", path);
    return { path, id };
  }

  /** How many installations started from ticket `id`, and how many of them were copies (the operator's list). */
  function starts(id: string): { installations: number; copies: number } {
    const found = (JSON.parse(server.cli("ticket", "list", "--product", "my-app", "--json")) as Record<string, unknown>[]).find((t) => t.id === id);
    assert.ok(found, `ticket ${id} is listed`);
    return { installations: found.installations as number, copies: found.copies as number };
  }

  /** A device's events as the server stored them (the operator's export): kind and data. */
  function events(device: string): { kind: string; data: Record<string, unknown> }[] {
    const lines = server.cli("export", "--format", "json", "--product", "my-app").split("\n").filter(Boolean);
    return lines
      .map((line) => JSON.parse(line))
      .filter((event) => event.device_id === device)
      .map((event) => ({ kind: event.kind, data: typeof event.data === "string" ? JSON.parse(event.data) : (event.data ?? {}) }));
  }

  /** The process warnings emitted while `work` runs. */
  async function warningsDuring<T>(work: () => Promise<T>): Promise<[T, string[]]> {
    const seen: string[] = [];
    const listen = (warning: Error): void => void seen.push(warning.message);
    process.on("warning", listen);
    try {
      const result = await work();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      return [result, seen];
    } finally {
      process.off("warning", listen);
    }
  }

  it("the first check sends the ticket, the next ones do not; a leaked copy on another computer is recorded as a copy", async () => {
    const ticket = mint();
    const proxy = await new RecordingProxy(server.url).start();
    let buyer: string | null = null;
    try {
      const lic = app(machine(), { serverUrl: proxy.url, installerTicket: ticket.path });
      const first = await lic.check();
      assert.deepEqual([first.online, first.allowed, first.state, first.cloneSuspected], [true, true, "trial", false]);
      buyer = first.device;
      assert.equal((await lic.check()).device, buyer);
      const checks = proxy.exchanges.filter((e) => e.path === "/v1/check");
      assert.equal(checks.length, 2);
      assert.equal(checks[0]?.request.installer_ticket, readFileSync(ticket.path, "utf8").trim(), "the file's text, at first contact");
      assert.equal("installer_ticket" in (checks[1]?.request ?? {}), false, "not once the installation has its credential");
    } finally {
      await proxy.stop();
    }
    assert.deepEqual(starts(ticket.id), { installations: 1, copies: 0 }, "the installation started from the ticket");

    // The same download installed on another computer (other hardware, another data folder).
    const pirate = await app(machine(), { installerTicket: ticket.path }).check();
    assert.deepEqual([pirate.online, pirate.allowed, pirate.state, pirate.cloneSuspected], [true, true, "trial", true], "the product's on_clone is flag");
    assert.notEqual(pirate.device, buyer);
    assert.deepEqual(starts(ticket.id), { installations: 2, copies: 1 });
    const [evidence] = events(pirate.device ?? "").filter((e) => e.kind === "clone_suspected");
    assert.equal(evidence?.data.reason, "installer_ticket_copied");
    assert.equal(evidence?.data.copy_of, buyer);
    assert.equal((evidence?.data.installer_ticket as Record<string, unknown>).id, ticket.id);
  });

  it("a reinstall on the same computer reusing its ticket is the same installation, and never a copy", async () => {
    const ticket = mint();
    const on = machine();
    const dataDir = folder("data");
    const first = await app(on, { dataDir, installerTicket: ticket.path }).check();
    rmSync(dataDir, { recursive: true }); // the uninstaller; the escrow keeps the credential
    const again = await app(on, { dataDir, installerTicket: ticket.path }).check();
    assert.deepEqual([again.device, again.cloneSuspected], [first.device, false], "resumed from the escrow, the ticket not sent again");
    rmSync(dataDir, { recursive: true });
    rmSync(join(config.dir, "licentia"), { recursive: true }); // a formatted disk: no escrow either
    const formatted = await app(on, { dataDir, installerTicket: ticket.path }).check();
    assert.notEqual(formatted.device, first.device);
    assert.equal(formatted.cloneSuspected, false);
    assert.deepEqual(starts(ticket.id), { installations: 2, copies: 0 }, "two installations, one computer");
    assert.deepEqual(events(formatted.device ?? "").filter((e) => e.kind === "clone_suspected"), []);
  });

  it("an edited ticket is refused: the check is not allowed, credential() names the refusal, nothing is stored", async () => {
    const ticket = mint();
    const signed = JSON.parse(readFileSync(ticket.path, "utf8"));
    signed.document.customer = 1; // the pirate names another buyer
    const edited = join(folder("edited"), TICKET_FILE);
    mkdirSync(join(edited, ".."), { recursive: true });
    writeFileSync(edited, JSON.stringify(signed));

    const lic = app(machine(), { installerTicket: edited });
    const status = await lic.check(); // never rejects
    assert.deepEqual([status.allowed, status.online, status.reason, status.device], [false, false, "no_document", null]);
    await assert.rejects(lic.credential(), (err: unknown) => {
      assert.ok(err instanceof ServerRefused);
      assert.deepEqual([err.code, err.status], ["invalid_installer_ticket", 422]);
      return true;
    });
    assert.equal(existsSync(join(lic.dataDir, "state.json")), false, "no state kept");
    assert.equal(lic.escrow.load(), null, "no credential escrowed");
    assert.deepEqual(starts(ticket.id), { installations: 0, copies: 0 }, "no installation started from it");
  });

  it("a damaged ticket is not sent (a warning says why) and a missing one is no ticket: first contact goes on", async () => {
    const ticket = mint();
    const damaged = join(folder("damaged"), TICKET_FILE);
    mkdirSync(join(damaged, ".."), { recursive: true });
    writeFileSync(damaged, readFileSync(ticket.path).subarray(0, -20));
    const proxy = await new RecordingProxy(server.url).start();
    try {
      const [started, warnings] = await warningsDuring(() => app(machine(), { serverUrl: proxy.url, installerTicket: damaged }).check());
      assert.deepEqual([started.online, started.allowed, started.state], [true, true, "trial"], "a first contact as without a ticket");
      assert.deepEqual(warnings, [`installer ticket ${damaged} not sent: not UTF-8 JSON`]);
      const missing = await app(machine(), { serverUrl: proxy.url, installerTicket: join(scratch, "nowhere", TICKET_FILE) }).check();
      assert.deepEqual([missing.online, missing.allowed, missing.state], [true, true, "trial"]);
      const checks = proxy.exchanges.filter((e) => e.path === "/v1/check");
      assert.equal(checks.length, 2);
      assert.ok(checks.every((e) => !("installer_ticket" in e.request)), "no ticket field sent");
    } finally {
      await proxy.stop();
    }
    assert.deepEqual(starts(ticket.id), { installations: 0, copies: 0 });
  });
});
