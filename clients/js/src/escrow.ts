/**
 * The installation's credential kept outside its data folder, so a reinstall
 * resumes the installation. Same file, name and content as the Python SDK's
 * file store (`licentia.client.escrow`), so either SDK finds the other's entry.
 *
 * An uninstaller removes the application's data folder (`state.json` with the
 * credential and the rotating token); the server would then see a new
 * installation, and a licensed application would come back in trial. So the
 * client also keeps the credential (device id and secret, nothing else: never
 * the license key) in a 0600 file in the user's configuration directory, in a
 * 0700 folder: `<config>/licentia/credentials/<sha256(server\nproduct\ndata path hash)>`.
 * The name and the entry's fields bind it to the server, the product and the
 * data path's hash, so a second data path (another installation on this
 * computer) never takes it.
 *
 * It is read only when the data folder holds no credential: an offline start
 * with its state never touches it. A check with the escrowed credential and no
 * token is, to the server, the same installation reinstalled. The credential
 * authenticates only together with this machine's hardware: the same
 * credential on another computer is a copy, as a copied data folder is.
 *
 * The Python SDK prefers the operating system's credential store (through
 * `keyring`) where one works and uses this file only where none does; this
 * client, with nothing but Node's standard library, keeps the file.
 */

import { createHash } from "node:crypto";
import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, posix, win32 } from "node:path";

import { isToken } from "./tokens";
import { writeFileAtomic } from "./files";
import { isObject } from "./json";

export const MAX_ENTRY_BYTES = 4096;

/**
 * Python's `platformdirs.user_config_dir("licentia", appauthor=False)`: where
 * the Python SDK keeps its file. Null when no home directory can be found
 * (then there is no escrow, which costs a reinstall its resumption only).
 */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === "win32") {
    const local = env.LOCALAPPDATA ?? "";
    if (win32.isAbsolute(local)) return win32.join(local, "licentia");
    const home = safeHome();
    return home ? win32.join(home, "AppData", "Local", "licentia") : null;
  }
  // platformdirs takes $XDG_CONFIG_HOME (only an absolute one) on every Unix, macOS included.
  const xdg = env.XDG_CONFIG_HOME ?? "";
  if (posix.isAbsolute(xdg)) return join(xdg, "licentia");
  const home = safeHome();
  if (!home) return null;
  return platform === "darwin" ? join(home, "Library", "Application Support", "licentia") : join(home, ".config", "licentia");
}

function safeHome(): string | null {
  try {
    const home = homedir();
    return home && isAbsolute(home) ? home : null;
  } catch {
    return null;
  }
}

/** One installation's escrowed credential: `load()`, `save()`, `forget()`; none of them ever throws. */
export class Escrow {
  readonly serverUrl: string;
  /** The entry's file name: the three keys, hashed (a data path hash is public anyway). */
  readonly account: string;

  constructor(
    serverUrl: string,
    readonly product: string,
    /** The data path's hash, as the fingerprint sends it (`fingerprint.data_path`). */
    readonly dataPath: string,
  ) {
    this.serverUrl = serverUrl.replace(/\/+$/, "");
    this.account = createHash("sha256").update(`${this.serverUrl}\n${product}\n${dataPath}`, "utf8").digest("hex");
  }

  /** The entry's file, found afresh on each use (the user's config dir comes from the environment); null: none. */
  get path(): string | null {
    const dir = userConfigDir();
    return dir === null ? null : join(dir, "credentials", this.account);
  }

  /** This installation's escrowed credential, if its file holds a well-formed entry of this installation. */
  load(): [string, string] | null {
    const path = this.path;
    return path === null ? null : this.parse(readSmall(path));
  }

  /** Keep `credential` for a reinstall; a failure is ignored (it costs a reinstall its resumption only). */
  save(credential: readonly [string, string]): void {
    const path = this.path;
    if (path === null) return;
    const [device, secret] = credential;
    const entry = { device, secret, server: this.serverUrl, product: this.product, data_path: this.dataPath };
    try {
      // A temporary 0600 file created exclusively (never through a planted link), fsynced, renamed over.
      writeFileAtomic(path, JSON.stringify(entry));
    } catch {
      // a read-only or full home directory, or a file where the folder should be
    }
  }

  /** Remove the entry (`uninstall({ forget: true })`): a later install is then a new installation. */
  forget(): void {
    const path = this.path;
    if (path === null) return;
    try {
      unlinkSync(path);
    } catch {
      // nothing kept, or nothing that can be removed
    }
  }

  /** A credential only from an entry of this server, product and data path, with well-formed parts. */
  private parse(text: string | null): [string, string] | null {
    if (!text) return null;
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isObject(entry)) return null;
    const { device, secret, server, product, data_path: dataPath } = entry;
    if (server !== this.serverUrl || product !== this.product || dataPath !== this.dataPath) return null;
    return isToken(device) && isToken(secret) ? [device, secret] : null;
  }
}

/**
 * At most MAX_ENTRY_BYTES of a regular file, never through a link (a planted
 * link could point the read at anything), never waiting on a FIFO; null for
 * anything else, a larger file included.
 */
function readSmall(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(MAX_ENTRY_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return length <= MAX_ENTRY_BYTES ? buffer.subarray(0, length).toString("utf8") : null;
  } catch {
    return null; // a directory, a FIFO with nothing to read, an I/O error
  } finally {
    closeSync(fd);
  }
}
