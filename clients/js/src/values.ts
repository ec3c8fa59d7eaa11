/** The server's small value store, per device or per license: `lic.values.get/set`. */

import { ServerRefused } from "./errors";
import { isObject, type JsonValue } from "./json";
import { ErrorCode } from "./vocabulary";

export type Scope = "device" | "license";

interface Owner {
  credential(): Promise<readonly [string, string]>;
  readonly transport: import("./transport").Transport;
}

export class Values {
  constructor(private readonly owner: Owner) {}

  private path(key: string): string {
    return `/v1/values/${encodeURIComponent(key)}`;
  }

  /** The value saved under `key`, or `fallback` when there is none. */
  async get(key: string, fallback: JsonValue = null, scope: Scope = "device"): Promise<JsonValue> {
    const credential = await this.owner.credential();
    let answer: JsonValue;
    try {
      answer = await this.owner.transport.request("GET", this.path(key), { credential, query: { scope } });
    } catch (err) {
      if (err instanceof ServerRefused && err.code === ErrorCode.UNKNOWN_VALUE) return fallback;
      throw err;
    }
    return isObject(answer) && answer.value !== undefined ? answer.value : fallback;
  }

  async set(key: string, value: unknown, scope: Scope = "device"): Promise<void> {
    const credential = await this.owner.credential();
    await this.owner.transport.request("PUT", this.path(key), { body: { value }, credential, query: { scope } });
  }
}
