/**
 * Checks a presented token against the configured `[auth] tokens` (HTTP bearer tokens, the RTMP stream key's
 * `?token=`) in a time that does not depend on where, or against which token, the bytes differ.
 */

/** A check of presented tokens against `tokens`. */
export function tokenChecker(tokens: readonly string[]): (given: string) => boolean {
  const encoder = new TextEncoder();
  const known = tokens.map((token) => encoder.encode(token));
  return (given) => {
    const bytes = encoder.encode(given);
    let found = false;
    for (const token of known) found = sameBytes(token, bytes) || found;
    return found;
  };
}

/** Compares without stopping at the first difference. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ (b[i % Math.max(b.length, 1)] ?? 0);
  return difference === 0;
}
