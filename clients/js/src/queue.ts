/**
 * The durable event queue: one file per event in `<dataDir>/events/`.
 *
 * An event is on disk (written atomically, mode 0600, fsynced) before
 * `add()` returns, and leaves the disk only after the server acknowledged it.
 * Each carries a client event id the server deduplicates on, so re-sending
 * after a lost answer or a killed process is harmless: nothing is lost,
 * nothing is counted twice. File names sort in the order events were added.
 */

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";

import { Offline, ServerRefused } from "./errors";
import { writeFileAtomic } from "./files";
import { isObject, type JsonObject } from "./json";
import { toIso } from "./time";
import { sendTrail } from "./trail";
import type { Transport } from "./transport";
import { ErrorCode, EventKind, REPORTED_EVENT_KINDS } from "./vocabulary";

export const QUEUE_DIR = "events";
export const KINDS = REPORTED_EVENT_KINDS; // what an application may report; the server records the rest itself
const MAX_BATCH = 200; // the server's limit per call
const BACKOFF_START_MS = 200;
const BACKOFF_CAP_MS = 5000;

export interface QueuedEvent {
  id: string;
  kind: string;
  occurred_at: string;
  data: JsonObject;
  facts: JsonObject;
}

export interface FlushResult {
  sent: number; // acknowledged by the server (new + duplicates)
  duplicates: number; // already stored by an earlier send
  dropped: number; // refused as malformed: they can never be accepted
  remaining: number; // still queued (offline, deadline reached, or no credential yet)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EventQueue {
  readonly dir: string;
  private counter = 0;

  constructor(dataDir: string) {
    this.dir = join(dataDir, QUEUE_DIR);
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => n.endsWith(".json")).sort();
    } catch {
      return [];
    }
  }

  add(kind: string, occurredAt: number, data: Record<string, unknown> = {}, facts: Record<string, unknown> = {}): string {
    if (!KINDS.has(kind)) throw new RangeError(`unknown event kind ${JSON.stringify(kind)}`);
    const id = randomBytes(16).toString("hex");
    const event = { id, kind, occurred_at: toIso(occurredAt), data, facts };
    const order = `${Date.now().toString().padStart(15, "0")}-${(this.counter++).toString().padStart(6, "0")}`;
    writeFileAtomic(join(this.dir, `${order}-${id}.json`), JSON.stringify(event));
    return id;
  }

  /** Queued events in order, up to `limit`; a damaged file is dropped (it could never be sent). */
  pending(limit = MAX_BATCH): { file: string; event: QueuedEvent }[] {
    const out: { file: string; event: QueuedEvent }[] = [];
    for (const file of this.files()) {
      if (out.length >= limit) break;
      try {
        const event: unknown = JSON.parse(readFileSync(join(this.dir, file), "utf8")); // our own files, plain JSON
        if (isObject(event) && typeof event.id === "string" && typeof event.kind === "string" && isObject(event.data) && isObject(event.facts)) {
          out.push({ file, event: event as unknown as QueuedEvent });
          continue;
        }
      } catch {
        // unreadable: fall through and remove it
      }
      this.remove([file]);
    }
    return out;
  }

  count(): number {
    return this.files().length;
  }

  private remove(files: string[]): void {
    for (const file of files) {
      try {
        unlinkSync(join(this.dir, file));
      } catch {
        // already gone
      }
    }
  }

  /**
   * Send queued events in batches until the queue is empty or `deadline`
   * (ms, `Date.now()` scale) passes. Offline, 429 and 5xx are retried with
   * exponential backoff and jitter within the deadline. `trail`: the product whose
   * proxy-log trail is on; each batch's trail GETs go before its POST (trail.ts).
   */
  async flush(
    transport: Transport,
    credential: readonly [string, string] | null,
    deadline: number,
    batchSize = 100,
    maxRetries = 5,
    trail: string | null = null,
  ): Promise<FlushResult> {
    let sent = 0;
    let duplicates = 0;
    let dropped = 0;
    let retries = 0;
    let backoff = BACKOFF_START_MS;
    const size = Math.max(1, Math.min(batchSize, MAX_BATCH));
    if (credential === null) return { sent, duplicates, dropped, remaining: this.count() };
    while (Date.now() < deadline) {
      const pending = this.pending(size);
      if (!pending.length) break;
      const { path, body, batch } = requestFor(pending);
      if (trail !== null) await sendTrail(transport, trail, batch.map((b) => b.event), deadline);
      let wait: number;
      try {
        const answer = await transport.request("POST", path, { body, credential, timeoutMs: deadline - Date.now() });
        // Acknowledged: only now may the events leave the disk.
        this.remove(batch.map((b) => b.file));
        sent += batch.length;
        const dup = isObject(answer) ? answer.duplicates : 0;
        duplicates += typeof dup === "number" ? dup : 0;
        retries = 0;
        backoff = BACKOFF_START_MS;
        continue;
      } catch (err) {
        if (err instanceof ServerRefused) {
          if (err.code === ErrorCode.VALIDATION_ERROR) {
            // Malformed events would block the queue for ever; nothing can fix them.
            this.remove(batch.map((b) => b.file));
            dropped += batch.length;
            continue;
          }
          if (err.status !== 429) throw err;
          wait = err.retryAfter !== null ? err.retryAfter * 1000 : backoff;
        } else if (err instanceof Offline) {
          wait = backoff;
        } else {
          throw err;
        }
      }
      retries++;
      wait *= 0.5 + Math.random() / 2; // jitter: many clients must not retry in step
      if (retries > maxRetries || Date.now() + wait >= deadline) break;
      await sleep(wait);
      backoff = Math.min(backoff * 2, BACKOFF_CAP_MS);
    }
    return { sent, duplicates, dropped, remaining: this.count() };
  }
}

/** The next call: a batch for /v1/events, or one feedback alone for /v1/feedback (its text may be long). */
function requestFor(pending: { file: string; event: QueuedEvent }[]): { path: string; body: unknown; batch: { file: string; event: QueuedEvent }[] } {
  const first = pending[0] as { file: string; event: QueuedEvent };
  if (first.event.kind === EventKind.FEEDBACK) {
    const data = first.event.data;
    return {
      path: "/v1/feedback",
      body: { id: first.event.id, text: (typeof data.text === "string" && data.text) || "-", email: data.email ?? null, facts: first.event.facts },
      batch: [first],
    };
  }
  const batch: { file: string; event: QueuedEvent }[] = [];
  for (const item of pending) {
    if (item.event.kind === EventKind.FEEDBACK) break;
    batch.push(item);
  }
  return { path: "/v1/events", body: { events: batch.map((b) => b.event) }, batch };
}
