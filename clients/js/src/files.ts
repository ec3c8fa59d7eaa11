/** Durable small files: written whole or not at all, readable only by their owner. */

import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Write to a temporary file (mode 0600), fsync it, rename it over `path`,
 * fsync the directory. A crash or power loss leaves the old file or the new
 * one, never half of one (which would lose the credential). `data` may be a function of the new
 * file's modification time (ms), for content that depends on the file itself.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | ((mtimeMs: number) => string | Uint8Array)): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      const content = typeof data === "function" ? data(fstatSync(fd).mtimeMs) : data;
      writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never written
    }
    throw err;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  if (process.platform === "win32") return; // a directory cannot be opened there; MoveFileEx is durable enough
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // a file system without directory fsync: the rename is still atomic
  }
}
