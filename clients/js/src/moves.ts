/**
 * An explicit move: the installation kept in a previous data folder on this
 * computer, adopted by a new (empty) one. Same steps as the Python SDK's
 * `licentia.client.moves`.
 *
 * A new version that keeps its state elsewhere (another data path) calls
 * `lic.moveFrom(oldDataDir)` once: the server records the move (`moved`, or
 * `upgrade` when the version changed) with both data paths, rotates the token
 * and names the new data path in the document; the state left in the old
 * folder is then a copy and stops working there. A state copied into another
 * folder any other way is a copy (`state_copied`): a new installation without
 * the license.
 */

import { unlinkSync } from "node:fs";

import type { Asked } from "./answers";
import { ConfigurationError } from "./errors";
import { Escrow } from "./escrow";
import type { Fingerprint } from "./fingerprint";
import type { JsonValue } from "./json";
import { absolutePath } from "./paths";
import { dataPathHash } from "./rules";
import { StateFile, type State } from "./state";
import type { Status } from "./status";
import type { Transport } from "./transport";

export const MOVE_PATH = "/v1/move";

/** What a move needs of the client (`client.ts`): its folder, and its online exchange. */
export interface MoveParts {
  readonly product: string;
  readonly dataDir: string;
  readonly transport: Transport;
  readonly stateFile: StateFile;
  readonly escrow: Escrow;
  fingerprint(): Promise<Fingerprint>;
  /** POST with a fresh nonce and the state's credential and token. */
  post(path: string, fingerprint: Fingerprint, state: State, deadline: number): Promise<[JsonValue, Asked]>;
  /** Verify and bind the answer as a check's, then keep it in `state` and save that in this data folder. */
  accept(path: string, answer: JsonValue, asked: Asked, state: State, fingerprint: Fingerprint): Promise<Status>;
}

/**
 * Adopt the installation kept in `oldDataDir` (same product, same computer) into this data folder.
 *
 * Throws `ConfigurationError` when the old folder holds no installation or is this one, or when this
 * folder already holds one; `ServerRefused` (`other_machine`: the old state is another computer's;
 * `stale_token`: check in from the old folder first; `invalid_credential`), `Offline` or
 * `InvalidAnswer` when the server does not take the move. Nothing changes in either folder then.
 */
export async function moveFrom(lic: MoveParts, oldDataDir: string): Promise<Status> {
  if (!oldDataDir) throw new ConfigurationError("the old data folder is required");
  const oldDir = absolutePath(oldDataDir);
  if (oldDir === lic.dataDir) throw new ConfigurationError("the old data folder is this installation's own");
  const oldFile = new StateFile(oldDir);
  const state = oldFile.load();
  if (state.credential === null) throw new ConfigurationError(`no installation's state in ${oldDir}`);
  if (lic.stateFile.load().credential !== null) {
    throw new ConfigurationError(`${lic.dataDir} already holds an installation: move into an empty data folder`);
  }
  // The body is a check's with THIS folder's data path (the one the installation moves to), sent
  // with the old state's credential and current token; the answer must name the new data path.
  const fingerprint = await lic.fingerprint();
  const [answer, asked] = await lic.post(MOVE_PATH, fingerprint, state, Date.now() + lic.transport.timeoutMs);
  // The old state (its install report, usage report, facts opt-out) goes on in this folder, with
  // the answer's document and new token; a failure to write it throws, and the old folder stays.
  const status = await lic.accept(MOVE_PATH, answer, asked, state, fingerprint);
  lic.escrow.save(state.credential); // the answer carries no new credential: escrow it under the new data path
  new Escrow(lic.transport.serverUrl, lic.product, dataPathHash(lic.product, oldDir)).forget();
  try {
    unlinkSync(oldFile.path); // void on the server now: do not leave it to be run
  } catch {
    // already gone, or a read-only folder: it checks in as a copy there
  }
  return status;
}
