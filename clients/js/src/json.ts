/**
 * JSON in and out for signed documents.
 *
 * `JSON.parse` cannot be used on what gets verified: it turns
 * 9223372036854775807 into 9223372036854775808 and `1.0` into `1`, so the
 * canonical bytes re-derived from its result would differ from the signed
 * bytes (a genuine document refused) or a float the core refuses would pass (a
 * rule the Python core and this SDK would disagree on). This parser keeps
 * integers exact (as `bigint` beyond 2^53) and floats as `JsonFloat`, and the
 * writer produces the core's canonical form: keys sorted by code point,
 * no white space, UTF-8, integers within ±(2^63-1), no floats.
 */

export class JsonFloat {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | number | bigint | string | JsonFloat | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Thrown for text that is not JSON, and for values canonical JSON does not carry. */
export class JsonError extends Error {}

const MAX_DEPTH = 512;
const MAX_INT = (1n << 63n) - 1n;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonFloat);
}

/** Parse JSON text (or UTF-8 bytes); throws `JsonError`. Objects have no prototype, so `__proto__` is a plain key. */
export function parseJson(input: string | Uint8Array): JsonValue {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new JsonError("not UTF-8");
    }
  }
  let pos = 0;

  const fail = (what: string): never => {
    throw new JsonError(`${what} at offset ${pos}`);
  };
  const skip = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const literal = (word: string): boolean => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return true;
    }
    return false;
  };

  const string = (): string => {
    pos++; // the opening quote
    let out = "";
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      if (e === "u") {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        pos += 2;
      } else {
        fail("bad escape");
      }
      start = pos;
    }
  };

  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    skip();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const obj: JsonObject = Object.create(null) as JsonObject;
      skip();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        skip();
        if (text[pos] !== '"') fail("expected a key");
        const key = string();
        skip();
        if (text[pos] !== ":") fail("expected ':'");
        pos++;
        obj[key] = value(depth + 1); // a repeated key: the last one wins, as in the core
        skip();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      pos++;
      const arr: JsonValue[] = [];
      skip();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        skip();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (literal("true")) return true;
    if (literal("false")) return false;
    if (literal("null")) return null;
    // The core's parser reads these as floats, which canonical JSON then refuses.
    for (const word of ["NaN", "Infinity", "-Infinity"]) if (literal(word)) return new JsonFloat(word);
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail("unexpected character");
    pos += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new JsonFloat(m[0]);
    const big = BigInt(m[0]);
    const small = Number(big);
    return Number.isSafeInteger(small) ? small : big;
  };

  const result = value(0);
  skip();
  if (pos !== text.length) fail("extra data");
  return result;
}

// -- canonical output -------------------------------------------------------------

/** UTF-16 order differs from code point order above U+E000 vs surrogate pairs; this is code point order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function checkWellFormed(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    throw new JsonError("canonical JSON strings must be valid Unicode (a lone surrogate)");
  }
}

function writeString(s: string, out: string[]): void {
  checkWellFormed(s);
  // JSON.stringify escapes exactly what the core does: quote, backslash, \b \f \n \r \t, other controls as \u00xx.
  out.push(JSON.stringify(s));
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "string") {
    writeString(value, out);
  } else if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new JsonError("canonical JSON does not carry floats");
    write(BigInt(value), out);
  } else if (typeof value === "bigint") {
    if (value > MAX_INT || value < -MAX_INT) throw new JsonError("canonical JSON integers must fit in 64 bits");
    out.push(value.toString());
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i) out.push(",");
      write(item, out);
    });
    out.push("]");
  } else if (isObject(value)) {
    out.push("{");
    Object.keys(value)
      .sort(compareCodePoints)
      .forEach((key, i) => {
        if (i) out.push(",");
        writeString(key, out);
        out.push(":");
        write(value[key], out);
      });
    out.push("}");
  } else {
    throw new JsonError(`canonical JSON does not carry ${value instanceof JsonFloat ? "floats" : typeof value} values`);
  }
}

/** The canonical text of `value` (throws `JsonError` for what the core refuses). */
export function canonicalText(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

/** The canonical UTF-8 bytes of `value`: the exact bytes that get signed. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalText(value), "utf8");
}
