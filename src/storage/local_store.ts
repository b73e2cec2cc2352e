/**
 * The ObjectStore of `fs` storage: the recordings' own folder, which LocalObjects already writes durably. It reads,
 * lists and deletes there directly, so local disk needs no native addon (OpenDAL serves the object stores).
 */

import { access, constants } from "node:fs/promises";
import { errorMessage, NotFoundError } from "../shared/errors.ts";
import { checkedKey } from "./keys.ts";
import type { LocalObjects } from "./local_objects.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";

/** Objects as files under `local.dir`. */
export class LocalStore implements ObjectStore {
  readonly description: string;
  readonly #local: LocalObjects;

  constructor(local: LocalObjects) {
    this.#local = local;
    this.description = `fs:${local.dir}`;
  }

  write(key: string, data: Uint8Array): Promise<void> {
    return this.#local.replace(key, data);
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await this.#local.read(key, range);
    if (bytes === undefined) throw new NotFoundError(`no object "${key}"`);
    return bytes;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.#local.stat(key);
    return info === undefined ? undefined : { sizeBytes: info.sizeBytes };
  }

  list(prefix: string): Promise<string[]> {
    return this.#local.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.#local.delete(key);
  }

  /** Whether the folder exists and can be written. */
  async check(): Promise<string | undefined> {
    try {
      await access(this.#local.dir, constants.W_OK);
      return undefined;
    } catch (error) {
      return `${this.#local.dir} cannot be written: ${errorMessage(error)}`;
    }
  }

  /** Local files have no URLs of their own; the object route serves them. */
  async presignRead(key: string, _expiresS: number): Promise<string | undefined> {
    checkedKey(key);
    return await Promise.resolve(undefined);
  }
}
