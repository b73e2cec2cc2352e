/**
 * The ObjectStore adapter over Apache OpenDAL: the only place that imports `opendal`. It maps the backend's
 * errors to StorageError / NotFoundError and otherwise adds no behaviour (no retries, no spool).
 */

import { Buffer } from "node:buffer";
import { Operator } from "opendal";
import { NotFoundError, StorageError } from "../shared/errors.ts";
import { checkedKey, checkedPrefix } from "./keys.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";

/** OpenDAL scheme and options, as produced by config's `openDalOptions`. */
export interface OpenDalTarget {
  scheme: string;
  options: Record<string, string>;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /NotFound/i.test(error.message);
}

/** An ObjectStore backed by an OpenDAL operator (fs, s3, oss). */
export class OpenDalStore implements ObjectStore {
  readonly description: string;
  readonly #op: Operator;

  constructor(target: OpenDalTarget) {
    this.#op = new Operator(target.scheme, target.options);
    const where = target.options.bucket ?? target.options.root ?? "";
    this.description = `${target.scheme}:${where}`;
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    const path = checkedKey(key);
    try {
      await this.#op.write(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (error) {
      throw new StorageError(`writing "${path}" to ${this.description} failed: ${message(error)}`, { cause: error });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = checkedKey(key);
    try {
      const options = range === undefined
        ? undefined
        : { offset: BigInt(range.start), size: BigInt(range.endInclusive - range.start + 1) };
      const data = await this.#op.read(path, options);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no object "${path}"`);
      throw new StorageError(`reading "${path}" from ${this.description} failed: ${message(error)}`, { cause: error });
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = checkedKey(key);
    try {
      const meta = await this.#op.stat(path);
      if (meta.isDirectory()) return undefined;
      return { sizeBytes: Number(meta.contentLength ?? 0n) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageError(`stat of "${path}" on ${this.description} failed: ${message(error)}`, { cause: error });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const folder = checkedPrefix(prefix);
    try {
      const entries = await this.#op.list(folder === "" ? "/" : folder, { recursive: true });
      return entries.map((entry) => entry.path()).filter((path) => !path.endsWith("/")).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw new StorageError(`listing "${folder}" on ${this.description} failed: ${message(error)}`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    const path = checkedKey(key);
    try {
      await this.#op.delete(path);
    } catch (error) {
      throw new StorageError(`deleting "${path}" on ${this.description} failed: ${message(error)}`, { cause: error });
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
