/**
 * Assertions for this folder's tests, written here because the project has no assertion library and `node:`
 * modules cannot be type-checked without @types/node. Test-only: nothing outside *_test.ts imports it.
 */

/** Structural equality of plain data (primitives, arrays, plain objects), ignoring prototypes. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) =>
    Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
  );
}

/** Throws unless `actual` and `expected` are structurally equal. */
export function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  if (!deepEqual(actual, expected)) {
    throw new Error(
      `${message ? `${message}: ` : ""}values differ\n  actual:   ${JSON.stringify(actual)}\n  expected: ${
        JSON.stringify(expected)
      }`,
    );
  }
}

/** Throws unless `fn` throws an instance of `ErrorClass`; returns the error for further checks. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
  message = "",
): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof ErrorClass) return error;
    throw new Error(`${message ? `${message}: ` : ""}expected ${ErrorClass.name}, got ${String(error)}`);
  }
  throw new Error(`${message ? `${message}: ` : ""}expected ${ErrorClass.name}, nothing was thrown`);
}
