/** Test-only byte and randomness helpers shared by the unit tests of every folder; production code never imports it. */

/** Bytes from a literal: hex digits (whitespace ignored) with 'quoted' ASCII runs, e.g. `00000010 'mfhd' 00`. */
export function bin(literal: string): Uint8Array {
  const out: number[] = [];
  literal.split("'").forEach((part, i) => {
    if (i % 2 === 1) {
      for (let j = 0; j < part.length; j++) out.push(part.charCodeAt(j));
      return;
    }
    const digits = part.replace(/\s+/g, "");
    if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex in literal: "${part}"`);
    for (let j = 0; j < digits.length; j += 2) out.push(parseInt(digits.slice(j, j + 2), 16));
  });
  return new Uint8Array(out);
}

/** Lowercase hex of `bytes`, for readable failure messages. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** One buffer holding `parts` back to back. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Deterministic PRNG in [0, 1) (mulberry32) so property tests are reproducible and a failing seed can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random integer in [min, max] from `random`. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** `length` random bytes from `random`. */
export function randomBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}
