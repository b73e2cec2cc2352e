/** An in-memory ObjectStore for unit tests of the recorder core; it keeps nothing across restarts. */

import { NotFoundError } from "../shared/errors.ts";
import { checkedKey, checkedPrefix } from "./keys.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";

/** Objects held in a Map, with the same key checks as the real stores. */
export class MemoryStore implements ObjectStore {
  readonly description = "memory";
  readonly objects = new Map<string, Uint8Array>();

  write(key: string, data: Uint8Array): Promise<void> {
    return settle(() => {
      this.objects.set(checkedKey(key), data.slice());
    });
  }

  read(key: string, range?: ByteRange): Promise<Uint8Array> {
    return settle(() => {
      const data = this.objects.get(checkedKey(key));
      if (data === undefined) throw new NotFoundError(`no object "${key}"`);
      return range === undefined ? data.slice() : data.slice(range.start, range.endInclusive + 1);
    });
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return settle(() => {
      const data = this.objects.get(checkedKey(key));
      return data === undefined ? undefined : { sizeBytes: data.length };
    });
  }

  list(prefix: string): Promise<string[]> {
    return settle(() => {
      const folder = checkedPrefix(prefix);
      return [...this.objects.keys()].filter((key) => key.startsWith(folder)).sort();
    });
  }

  delete(key: string): Promise<void> {
    return settle(() => {
      this.objects.delete(checkedKey(key));
    });
  }

  /** Memory is always there. */
  check(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  /** Memory has no URLs; the key is still checked so callers see the same errors as with a real store. */
  presignRead(key: string, _expiresS: number): Promise<string | undefined> {
    return settle(() => {
      checkedKey(key);
      return undefined;
    });
  }
}

/** The result of `action` as a promise, so a refused key rejects (as with the real stores) instead of throwing. */
function settle<T>(action: () => T): Promise<T> {
  return new Promise((resolve) => resolve(action()));
}
