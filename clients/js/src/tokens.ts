/**
 * The device credential and the rotating token travel outside every signature (the credential in
 * an `Authorization` header), so each part is checked for the shape the server gives it before it
 * is kept or sent, as the Python SDK does (`status.is_token`): 1-200 printable ASCII characters.
 * A part with CR/LF would split the header (and break every later call); anything else is refused.
 */

/** A credential part or token as the server makes them: short printable ASCII. */
export function isToken(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 200 && /^[\x20-\x7e]+$/.test(value);
}

/** `[device, secret]` when both parts are well formed, else null. */
export function credentialOf(device: unknown, secret: unknown): [string, string] | null {
  return isToken(device) && isToken(secret) ? [device, secret] : null;
}
