/**
 * Client facts: optional context sent with checks and events as evidence.
 *
 * Off unless the application turns them on (`facts: true` or a list of
 * names); the vendor chooses which and must disclose them. `DO_NOT_TRACK=1`,
 * `LICENTIA_NO_FACTS=1` or the user's stored opt-out turn them off whatever
 * the application says. Collecting them makes no network traffic and starts no
 * subprocess. Same names and forms as the Python SDK.
 */

import { readFileSync, readlinkSync } from "node:fs";
import { hostname, networkInterfaces, release, type, userInfo } from "node:os";

import { ConfigurationError } from "./errors";
import { runCommand, type CommandRunner } from "./hardware/commands";
import { registeredOwner } from "./hardware/windows";

export const FACT_NAMES = [
  "computer_name", "user_name", "domain", "os_name", "os_version", "internal_ip",
  "local_time", "time_zone", "locale", "country", "registered_owner", "registered_organization",
] as const;
const MAX_FREE_FIELDS = 10;
const MAX_VALUE_LENGTH = 500; // the server refuses longer values

/** Tabs and newlines escaped, so one fact stays one field in exports. */
export function escapeFact(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r").slice(0, MAX_VALUE_LENGTH);
}

export function factsDisabledByEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["DO_NOT_TRACK", "LICENTIA_NO_FACTS"].some((n) => ["1", "true", "yes"].includes((env[n] ?? "").trim().toLowerCase()));
}

function quiet(read: () => string | null | undefined): string | null {
  try {
    return read() || null;
  } catch {
    return null;
  }
}

function locale(): string | null {
  const env = process.env;
  const lang = env.LC_ALL || env.LC_MESSAGES || env.LANG;
  if (lang && lang !== "C" && lang !== "POSIX") return lang.split(".")[0] ?? null;
  return quiet(() => Intl.DateTimeFormat().resolvedOptions().locale.replace("-", "_"));
}

function timeZone(): string | null {
  const tz = (process.env.TZ ?? "").replace(/^:/, "");
  if (tz.includes("/") && !tz.startsWith("/")) return tz;
  const link = quiet(() => readlinkSync("/etc/localtime"));
  if (link?.includes("zoneinfo/")) return link.split("zoneinfo/")[1] ?? null;
  return quiet(() => readFileSync("/etc/timezone", "utf8").trim()) ?? quiet(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
}

function localTime(): string {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, "0");
  const offset = -now.getTimezoneOffset();
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())} ${zone}`;
}

function internalIp(): string | null {
  for (const name of Object.keys(networkInterfaces()).sort()) {
    for (const entry of networkInterfaces()[name] ?? []) {
      if (!entry.internal && entry.family === "IPv4") return entry.address;
    }
  }
  return null;
}

/** Where facts come from: this machine by default, fakes in tests. */
export interface FactSource {
  platform?: NodeJS.Platform;
  run?: CommandRunner;
  env?: NodeJS.ProcessEnv;
}

type Reader = () => string | null | Promise<string | null>;

function readers(source: FactSource): Record<(typeof FACT_NAMES)[number], Reader> {
  const platform = source.platform ?? process.platform;
  const owner = (index: 0 | 1) => async (): Promise<string | null> =>
    platform === "win32" ? (await registeredOwner(source.run ?? runCommand, source.env ?? process.env))[index] : null;
  return {
    computer_name: () => quiet(hostname),
    user_name: () => quiet(() => userInfo().username),
    domain: () =>
      platform === "win32"
        ? process.env.USERDNSDOMAIN || process.env.USERDOMAIN || null
        : quiet(() => hostname().split(".").slice(1).join(".")),
    os_name: () => quiet(type),
    os_version: () => quiet(release),
    internal_ip: () => quiet(internalIp),
    local_time: localTime,
    time_zone: timeZone,
    locale,
    country: () => (locale() ?? "").split("_")[1]?.toUpperCase() || null,
    // reg.exe runs only when the application asked for these two facts.
    registered_owner: owner(0),
    registered_organization: owner(1),
  };
}

/** Refuse unknown fact names and too many free fields (`ConfigurationError`), without reading anything. */
export function checkFactChoice(names: readonly string[], authors: readonly string[] = [], trackers: readonly string[] = []): void {
  for (const name of names) {
    if (!(FACT_NAMES as readonly string[]).includes(name)) {
      throw new ConfigurationError(`unknown fact ${JSON.stringify(name)}; known: ${FACT_NAMES.join(", ")}`);
    }
  }
  for (const [label, values] of [["author", authors], ["tracker", trackers]] as const) {
    if (values.length > MAX_FREE_FIELDS) throw new ConfigurationError(`at most ${MAX_FREE_FIELDS} ${label} fields`);
  }
}

/** Read the named facts (unknown names are refused) plus `author_N` and `tracker_N` fields; a reader that fails gives none. */
export async function collectFacts(
  names: readonly string[],
  authors: readonly string[] = [],
  trackers: readonly string[] = [],
  source: FactSource = {},
): Promise<Record<string, string>> {
  checkFactChoice(names, authors, trackers);
  const facts: Record<string, string> = {};
  const known = readers(source) as Record<string, Reader>;
  for (const name of names) {
    let value: string | null = null;
    try {
      value = await (known[name] as Reader)();
    } catch {
      value = null;
    }
    if (typeof value === "string" && value) facts[name] = escapeFact(value);
  }
  for (const [label, values] of [["author", authors], ["tracker", trackers]] as const) {
    values.forEach((value, i) => {
      if (value) facts[`${label}_${i + 1}`] = escapeFact(String(value));
    });
  }
  return facts;
}
