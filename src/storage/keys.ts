/** Object keys: the one check every store applies before touching a backend, so no key can leave the root. */

import { relativePathProblem } from "../config/mod.ts";
import { BadRequestError } from "../shared/errors.ts";

/** Returns `key` when it is a safe relative object key, or throws BadRequestError naming the problem. */
export function checkedKey(key: string): string {
  const problem = relativePathProblem(key);
  if (problem !== undefined) throw new BadRequestError(problem);
  return key;
}

/** Returns a folder prefix (`a/b/`) when it is safe; the empty prefix means the whole store. */
export function checkedPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return `${checkedKey(trimmed)}/`;
}
