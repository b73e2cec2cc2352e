/** An in-memory ObjectStore for unit tests of the recorder core; it keeps nothing across restarts. */

import { NotFoundError } from "../shared/errors.ts";
import { checkedKey, checkedPrefix } from "./keys.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";

/** Objects held in a Map, with the same key checks as the real stores. */
export class MemoryStore implements ObjectStore {
  readonly description = "memory";
  readonly objects = new Map<string, Uint8Array>();

  write(key: string, data: Uint8Array): Promise<void> {
    this.objects.set(checkedKey(key), data.slice());
    return Promise.resolve();
  }

  read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const data = this.objects.get(checkedKey(key));
    if (data === undefined) return Promise.reject(new NotFoundError(`no object "${key}"`));
    return Promise.resolve(range === undefined ? data.slice() : data.slice(range.start, range.endInclusive + 1));
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    const data = this.objects.get(checkedKey(key));
    return Promise.resolve(data === undefined ? undefined : { sizeBytes: data.length });
  }

  list(prefix: string): Promise<string[]> {
    const folder = checkedPrefix(prefix);
    return Promise.resolve([...this.objects.keys()].filter((key) => key.startsWith(folder)).sort());
  }

  delete(key: string): Promise<void> {
    this.objects.delete(checkedKey(key));
    return Promise.resolve();
  }

  /** Memory is always there. */
  check(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  /** Memory has no URLs; the key is still checked so callers see the same errors as with a real store. */
  presignRead(key: string, _expiresS: number): Promise<string | undefined> {
    try {
      checkedKey(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(undefined);
  }
}
