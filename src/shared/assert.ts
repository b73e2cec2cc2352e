/** A failed assertion is a bug in liverec, never bad input: input errors are typed errors with messages. */

/** Throws when `condition` is false; use for invariants only. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(`bug: ${message}`);
}
