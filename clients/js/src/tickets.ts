/**
 * The installer ticket: the signed file a download carries beside the installer (`licentia-ticket.json`).
 *
 * The vendor (or the portal, per download) mints it; the application passes its path as the
 * `installerTicket` option and the SDK sends its text with the first check only, when the
 * installation has no credential yet. The server starts the installation's token chain from it,
 * and records another computer starting from the same file as a copy of that download.
 *
 * What a client must refuse to send (the conformance vectors' `installer_tickets` rule, the same
 * in every client): a file larger than `MAX_TICKET_BYTES`, not UTF-8 JSON, or not a signed
 * installer ticket (an object with a `document` object of `kind` `installer_ticket`, a `kid`
 * string and a `sig` string). Such a file is not sent and the first contact goes on without it (a
 * process warning says why): a damaged file must not stop the application. The signature is not
 * verified here: a forged or edited file is refused by the server (`invalid_installer_ticket`).
 * A missing file is no ticket.
 */

import { closeSync, openSync, readSync } from "node:fs";

export const TICKET_FILE = "licentia-ticket.json";
export const MAX_TICKET_BYTES = 4096;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why `raw` must not be sent as an installer ticket, or null when it may be. */
export function ticketProblem(raw: Uint8Array): string | null {
  if (raw.length > MAX_TICKET_BYTES) return `larger than ${MAX_TICKET_BYTES} bytes`;
  let signed: unknown;
  try {
    // A byte order mark is kept (and so refused by the parser), as the Python core refuses it.
    signed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw));
  } catch {
    return "not UTF-8 JSON";
  }
  const document = isPlainObject(signed) ? signed.document : undefined;
  if (!isPlainObject(document) || document.kind !== "installer_ticket") return "not an installer ticket";
  if (!isPlainObject(signed) || typeof signed.kid !== "string" || typeof signed.sig !== "string") return "not a signed document";
  return null;
}

/** At most `MAX_TICKET_BYTES + 1` bytes of the file (enough to tell it is too large), or null when it cannot be read. */
function readHead(path: string): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null; // no ticket beside this installation: a first contact as any other
  }
  try {
    const buffer = Buffer.alloc(MAX_TICKET_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const got = readSync(fd, buffer, length, buffer.length - length, null);
      if (got === 0) break;
      length += got;
    }
    return buffer.subarray(0, length);
  } catch {
    return null; // a directory, or unreadable: no ticket
  } finally {
    closeSync(fd);
  }
}

const warned = new Set<string>();

/** The ticket's text to send at first contact, or null (no path, no file, or one a client must not send). */
export function readTicket(path: string | null | undefined): string | null {
  if (!path) return null;
  const raw = readHead(path);
  if (raw === null) return null;
  const problem = ticketProblem(raw);
  if (problem !== null) {
    const message = `installer ticket ${path} not sent: ${problem}`;
    if (!warned.has(message)) {
      warned.add(message); // once per process: a first contact retried offline must not repeat it
      process.emitWarning(message, { type: "LicentiaWarning", code: "LICENTIA_INSTALLER_TICKET" });
    }
    return null;
  }
  return new TextDecoder("utf-8").decode(raw).trim();
}

/** The first check's `installer_ticket` body field, when a ticket may be sent. */
export function installerTicketField(path: string | null | undefined): { installer_ticket?: string } {
  const text = readTicket(path);
  return text ? { installer_ticket: text } : {};
}
