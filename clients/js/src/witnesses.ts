/**
 * Clock-rollback witnesses: the latest local time an installation is known to have seen. Same
 * rules as the Python SDK's `licentia.client.witnesses`.
 *
 * Offline, nothing but the local clock says what time it is, and winding it back stretches a trial
 * or a lease. Several independent witnesses say how late it has already been: the sealed
 * `last_seen` in the state, and the modification times the file system gave the state file, the
 * event queue's folder and the data folder (read on the clock they were written with: the file
 * system's offset from the local clock is measured at each save, `fileClockSkew`). Beating them all
 * takes re-sealing the state (with the secret in it) and setting every file's time back.
 *
 * A clock that once ran far ahead (a dead battery, then NTP) leaves witnesses in the future; an
 * answer bound to its request then brings them back (`settleWitnesses`), so offline checks are not
 * refused as `clock_rollback` until the real time catches up.
 */

import { stat, utimes } from "node:fs/promises";
import { join } from "node:path";

import { QUEUE_DIR } from "./queue";
import { STATE_FILE } from "./state";
import { clockOffset } from "./time";

/** The files whose times witness the latest local time: the state, the event queue's folder, the data folder. */
export function witnessPaths(dataDir: string): string[] {
  return [join(dataDir, STATE_FILE), join(dataDir, QUEUE_DIR), dataDir];
}

/** The latest of `lastSeen` and the paths' modification times (missing ones skipped), on the local clock (ms). */
export async function latestWitness(lastSeen: number | null, paths: readonly string[], skewSeconds = 0): Promise<number | null> {
  let latest = lastSeen;
  for (const path of paths) {
    try {
      const when = (await stat(path)).mtimeMs - skewSeconds * 1000;
      if (Number.isFinite(when) && (latest === null || when > latest)) latest = when;
    } catch {
      continue;
    }
  }
  return latest;
}

/**
 * After an answer bound to its request (received at local time `now`, ms), bring back the file times
 * a clock once far ahead left beyond `now + tolerance`. Safe whatever the local clock says: the bound
 * answer also measured the clock's offset from the server's, and offline checks are judged on the
 * local clock plus that offset.
 */
export async function settleWitnesses(paths: readonly string[], now: number, toleranceMs: number, skewSeconds = 0): Promise<void> {
  const limit = now + toleranceMs + skewSeconds * 1000;
  const stamp = (now + skewSeconds * 1000) / 1000;
  for (const path of paths) {
    try {
      if ((await stat(path)).mtimeMs > limit) await utimes(path, stamp, stamp);
    } catch {
      continue;
    }
  }
}

/** What the latest local time seen becomes after a check (the `last_seen` vectors; times in ms). */
export interface SeenAfter {
  /** Offline: the clock was wound back below the latest time seen (deny, write nothing). */
  readonly rollback: boolean;
  /** The latest local time seen to seal afterwards. */
  readonly lastSeen: number | null;
  /** Online: the clock's offset from the server's, kept (seconds); offline null. */
  readonly offsetSeconds: number | null;
}

/** Written at most this often offline: a write (with fsync) per check costs far more than the check. */
export const LAST_SEEN_STEP_MS = 10 * 60 * 1000;

/**
 * The last-seen rule. Offline: a rollback when `now` + tolerance is before `lastSeen`; otherwise
 * `now` when there was none or `now` is more than ten minutes after it (a clock a little behind
 * never moves it back). Online (`issuedAt`: an answer bound to its request): `now` whatever it was,
 * so a clock that once ran far ahead and was put right heals at the next online check.
 */
export function seenAfter(lastSeen: number | null, now: number, issuedAt: number | null, toleranceMs: number): SeenAfter {
  if (issuedAt !== null) return { rollback: false, lastSeen: now, offsetSeconds: clockOffset(issuedAt, now) };
  if (lastSeen !== null && now + toleranceMs < lastSeen) return { rollback: true, lastSeen, offsetSeconds: null };
  const moved = lastSeen === null || now - lastSeen > LAST_SEEN_STEP_MS;
  return { rollback: false, lastSeen: moved ? now : lastSeen, offsetSeconds: null };
}
