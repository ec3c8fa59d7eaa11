/**
 * JSON over HTTP with Node's standard library. Every call has one hard
 * deadline for the whole exchange (a server dribbling a byte at a time cannot
 * hold the application's start), answers are read up to a size limit, and
 * failures become `Offline` or `ServerRefused`. Answers are parsed with the
 * exact parser, so a signed document keeps its big integers.
 */

import * as http from "node:http";
import * as https from "node:https";

import { ConfigurationError, InvalidAnswer, Offline, ServerRefused, type RefusalDetails } from "./errors";
import { isObject, parseJson, type JsonObject, type JsonValue } from "./json";
import { isToken } from "./tokens";
import { PROTOCOL_VERSION, USER_AGENT } from "./version";
import { ErrorCode } from "./vocabulary";

export { USER_AGENT };
const MAX_ANSWER_BYTES = 1 << 20;

export interface RequestOptions {
  body?: unknown;
  credential?: readonly [string, string] | null;
  query?: Record<string, string>;
  timeoutMs?: number;
}

export class Transport {
  readonly serverUrl: string;

  constructor(serverUrl: string, readonly timeoutMs: number) {
    let url: URL;
    try {
      url = new URL(serverUrl);
    } catch {
      throw new ConfigurationError(`not a server URL (http:// or https://): ${JSON.stringify(serverUrl)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ConfigurationError(`not a server URL (http:// or https://): ${JSON.stringify(serverUrl)}`);
    }
    if (!(timeoutMs > 0)) throw new ConfigurationError(`the timeout must be a positive number of ms, not ${timeoutMs}`);
    this.serverUrl = serverUrl.replace(/\/+$/, "");
  }

  /**
   * One GET of the proxy-log trail (`target`: `/v1/trail?...`, already encoded): no credential, the
   * answer's body ignored; rejects with `Offline` or `ServerRefused` when the server did not take it.
   */
  async trail(target: string, timeoutMs: number): Promise<void> {
    try {
      await this.request("GET", target, { timeoutMs });
    } catch (err) {
      if (!(err instanceof InvalidAnswer)) throw err; // 204: no body, which is no JSON
    }
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<JsonValue> {
    const url = new URL(this.serverUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      Accept: "application/json",
      "User-Agent": USER_AGENT,
      "Licentia-Protocol": String(PROTOCOL_VERSION),
    };
    let data: Buffer | undefined;
    if (options.body !== undefined) {
      data = Buffer.from(JSON.stringify(options.body), "utf8");
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(data.length);
    }
    if (options.credential) {
      const [device, secret] = options.credential;
      // Outside every signature: a part with CR/LF or other bytes would make a header of its own.
      if (!isToken(device) || !isToken(secret)) {
        return Promise.reject(new ConfigurationError("the device credential is malformed; it is not sent"));
      }
      headers.Authorization = `Device ${device}:${secret}`;
    }
    const wait = Math.max(50, options.timeoutMs ?? this.timeoutMs);
    const lib = url.protocol === "https:" ? https : http;

    return new Promise<JsonValue>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | null, value?: JsonValue): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as JsonValue);
      };
      // A fresh connection per call: Node 19+ keeps connections alive by default, and one the server
      // closed while idle (uvicorn after 5 s) fails the next request with "socket hang up".
      let req: http.ClientRequest;
      try {
        req = lib.request(url, { method, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy();
              finish(new Offline(`${this.serverUrl} answered more than ${MAX_ANSWER_BYTES} bytes`));
            } else {
              chunks.push(chunk);
            }
          });
          res.on("error", () => finish(new Offline(`cannot reach ${this.serverUrl}: the answer broke off`)));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const raw = Buffer.concat(chunks);
            if (status >= 500) return finish(new Offline(`server error ${status}`));
            if (status >= 400) return finish(refusal(status, raw, res.headers["retry-after"]));
            try {
              finish(null, parseJson(raw));
            } catch {
              finish(new InvalidAnswer(`${this.serverUrl} answered something that is not JSON`));
            }
          });
        });
      } catch (err) {
        // Node refuses some requests synchronously (a header or URL it will not send).
        finish(new Offline(`cannot reach ${this.serverUrl}: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      timer = setTimeout(() => {
        req.destroy();
        finish(new Offline(`no answer from ${this.serverUrl} within ${wait} ms`));
      }, wait);
      req.on("error", (err) => finish(new Offline(`cannot reach ${this.serverUrl}: ${err.message}`)));
      req.end(data);
    });
  }
}

/** An error answer read as the SDK's refusal: the code and message when both are text, else `http_error`; plain fields as details. */
export function refusal(status: number, raw: Uint8Array, retry: string | string[] | undefined): ServerRefused {
  let code: string = ErrorCode.HTTP_ERROR;
  let message = `HTTP ${status}`;
  let details: RefusalDetails = {};
  try {
    const answer = parseJson(raw);
    const error = isObject(answer) ? answer.error : null;
    if (isObject(error) && typeof error.code === "string" && typeof error.message === "string") {
      code = error.code.slice(0, 100);
      message = error.message.slice(0, 1000);
    }
    if (isObject(error)) details = plainFields(error);
  } catch {
    // not JSON: keep the HTTP status
  }
  const text = typeof retry === "string" ? retry : undefined;
  const wait = text && /^\d{1,9}$/.test(text) ? Number(text) : null; // a transfer period's wait is weeks
  return new ServerRefused(code, message, status, wait, details);
}

/** A refusal's figures (`next_transfer_at`, `transfers_used`, ...): plain fields only, nothing nested reaches the application. */
function plainFields(error: JsonObject): RefusalDetails {
  const fields: [string, string | number | boolean | null][] = [];
  for (const [name, value] of Object.entries(error)) {
    if (name === "code" || name === "message") continue;
    if (value === null || typeof value === "string" || typeof value === "boolean") fields.push([name, value]);
    else if (typeof value === "number" && Number.isSafeInteger(value)) fields.push([name, value]);
  }
  // fromEntries defines own properties: a "__proto__" key is a plain field, never a prototype.
  return Object.fromEntries(fields);
}
