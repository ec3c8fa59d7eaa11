/**
 * Releases as the application sees them (the `latest_release` and `licensee` vectors hold this file
 * to the Python SDK's rule): only known fields, each of its type, and a download URL only when it is
 * an `https://` link. The answer of `GET /v1/releases/latest` is not signed, and an application
 * hands the URL to the system (Electron's `shell.openExternal`): a `file:`, `javascript:`, `data:`
 * or custom scheme from a fake server must never reach it. A release inside a signed status
 * document is held to the same rule.
 */

import { isObject, type JsonObject, type JsonValue } from "./json";

/**
 * A release offered to this installation. A field the answer lacks (an older server) is absent; one
 * of another type is left out; `downloadUrl` is null unless it is an `https://` link.
 */
export interface Release {
  readonly version: string;
  readonly channel?: string | null;
  /** ISO 8601 UTC. */
  readonly releasedAt?: string | null;
  readonly downloadUrl?: string | null;
  readonly notes?: string | null;
  /** Whether it is newer than the running `appVersion` (null: no version given). */
  readonly newer?: boolean | null;
}

/** A newer release beyond the maintenance: what to offer as an upgrade. */
export interface NewerRelease {
  readonly version: string;
  readonly channel: string | null;
}

/** Until when the license gets updates (null: every release), and the newest release beyond that. */
export interface Maintenance {
  readonly until: string | null;
  readonly newerRelease: NewerRelease | null;
}

const MAX_URL = 2000;

/** The URL if it is an `https://` link of at most 2000 printable ASCII characters without spaces, else null. */
export function httpsUrl(value: unknown): string | null {
  if (typeof value !== "string" || value.length > MAX_URL || !/^[\x21-\x7e]+$/.test(value)) return null;
  return value.startsWith("https://") && value.length > "https://".length ? value : null;
}

const TEXT_FIELDS: [string, keyof Release][] = [["channel", "channel"], ["released_at", "releasedAt"], ["notes", "notes"]];

/** A release from an answer or a verified document: its known fields, checked; null without a non-empty text version. */
export function releaseOf(unverified: JsonValue | undefined): Release | null {
  if (!isObject(unverified) || typeof unverified.version !== "string" || !unverified.version) return null;
  const release: Record<string, string | boolean | null> = { version: unverified.version };
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(unverified, name);
  for (const [wire, field] of TEXT_FIELDS) {
    const value = unverified[wire];
    if (has(wire) && (value === null || typeof value === "string")) release[field] = value;
  }
  const url = unverified.download_url;
  if (has("download_url") && (url === null || typeof url === "string")) release.downloadUrl = httpsUrl(url);
  const newer = unverified.newer;
  if (has("newer") && (newer === null || typeof newer === "boolean")) release.newer = newer;
  return Object.freeze(release) as unknown as Release;
}

/** A release in the wire's words (`released_at`, `download_url`), as the vectors state it. */
export function releaseAsWire(release: Release): JsonObject {
  const names: Record<string, string> = { releasedAt: "released_at", downloadUrl: "download_url" };
  return Object.fromEntries(Object.entries(release).map(([k, v]) => [names[k] ?? k, v])) as JsonObject;
}

/** A license's maintenance from a document or an answer; null unless it is an object. */
export function maintenanceOf(unverified: JsonValue | undefined): Maintenance | null {
  if (!isObject(unverified)) return null;
  const until = unverified.until;
  const newer = unverified.newer_release;
  const newerRelease =
    isObject(newer) && typeof newer.version === "string" && newer.version
      ? Object.freeze({ version: newer.version, channel: typeof newer.channel === "string" ? newer.channel : null })
      : null;
  return Object.freeze({ until: typeof until === "string" ? until : null, newerRelease });
}
