/**
 * Releases as the application sees them: only known fields of plain types, and a download URL only
 * when it is `https:`. The answer of `GET /v1/releases/latest` is not signed, and an application
 * hands the URL to the system (Electron's `shell.openExternal`): a `file:`, `javascript:` or custom
 * scheme from a fake server must never reach it. A release inside a signed status document is held
 * to the same rules.
 */

import { isObject, type JsonValue } from "./json";

/** A release offered to this installation; every field checked, nothing else carried. */
export interface Release {
  readonly version: string;
  readonly channel: string | null;
  /** ISO 8601 UTC, or null. */
  readonly releasedAt: string | null;
  /** An `https:` URL, or null (none, or one of another scheme: never passed on). */
  readonly downloadUrl: string | null;
  readonly notes: string | null;
  /** Whether it is newer than the running `appVersion` (null: no version given). */
  readonly newer: boolean | null;
}

/** Until when the license gets updates, and the newest release beyond that (an upgrade to offer). */
export interface Maintenance {
  /** ISO 8601 UTC, or null: every release. */
  readonly until: string | null;
  readonly newerRelease: Release | null;
}

const MAX_SHORT = 200;
const MAX_NOTES = 20_000;
const MAX_URL = 2048;

function short(value: JsonValue | undefined, limit = MAX_SHORT): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= limit ? value : null;
}

/** The URL if it is a well-formed `https:` one, else null. */
export function httpsUrl(value: JsonValue | undefined): string | null {
  const text = short(value, MAX_URL);
  if (text === null || /[\s\u0000-\u001f\u007f]/.test(text)) return null;
  try {
    return new URL(text).protocol === "https:" ? text : null;
  } catch {
    return null;
  }
}

/** A release from unverified (or verified) JSON: its known fields, checked; null without a version. */
export function releaseOf(unverified: JsonValue | undefined): Release | null {
  if (!isObject(unverified)) return null;
  const version = short(unverified.version, 100);
  if (version === null) return null;
  const newer = unverified.newer;
  return Object.freeze({
    version,
    channel: short(unverified.channel, 100),
    releasedAt: short(unverified.released_at, 40),
    downloadUrl: httpsUrl(unverified.download_url),
    notes: short(unverified.notes, MAX_NOTES),
    newer: typeof newer === "boolean" ? newer : null,
  });
}

/** A license's maintenance from a document or an answer; null when there is none. */
export function maintenanceOf(unverified: JsonValue | undefined): Maintenance | null {
  if (!isObject(unverified)) return null;
  return Object.freeze({ until: short(unverified.until, 40), newerRelease: releaseOf(unverified.newer_release) });
}
