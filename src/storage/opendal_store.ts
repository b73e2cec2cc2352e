/**
 * The ObjectStore adapter over Apache OpenDAL: the only place that imports `opendal`. It maps the backend's errors
 * to StorageError / NotFoundError, sends large objects as multipart uploads, fails a call that takes too long,
 * probes the backend on request and presigns reads; otherwise it adds no behaviour (no retries, no spool, no
 * caching).
 */

import { Buffer } from "node:buffer";
import { Operator, TimeoutLayer } from "opendal";
import { MAX_PRESIGN_EXPIRES_S } from "../config/mod.ts";
import { assert } from "../shared/assert.ts";
import { errorMessage, NotFoundError, StorageError } from "../shared/errors.ts";
import { checkedKey, checkedPrefix } from "./keys.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
import { describeTarget, parseOpenDalError, probeProblem, type ProbeTarget } from "./opendal_errors.ts";

/** OpenDAL scheme and options, as produced by config's `openDalOptions`. */
export interface OpenDalTarget {
  scheme: string;
  options: Record<string, string>;
}

/** Tuning of the adapter itself (not configuration: the defaults suit S3 and OSS). */
export interface OpenDalStoreOptions {
  /**
   * Objects larger than this are uploaded in parts of this size (S3 / OSS multipart upload); smaller ones in one
   * request. At least the backend's minimum part size (S3: 5 MiB, OSS: 100 KiB). Default 8 MiB.
   */
  partSizeBytes?: number;
  /** Parts of one upload in flight at once. Default 4. */
  partConcurrency?: number;
  /** How long one call (and each read or write of an upload's body) may take before it fails. Default 60 s. */
  timeoutMs?: number;
}

/** Default multipart part size: above S3's 5 MiB minimum, and one part for most segments. */
const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
const DEFAULT_PART_CONCURRENCY = 4;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Headers OpenDAL lists with a presigned request that a plain GET of the URL does not need to repeat. */
const IMPLIED_PRESIGN_HEADERS = new Set(["host", "date"]);

/** An ObjectStore backed by an OpenDAL operator (fs, s3, oss). */
export class OpenDalStore implements ObjectStore {
  readonly description: string;
  readonly #target: ProbeTarget;
  /** The operator, or why OpenDAL refused to build one (reported by every call and by `check`, not thrown here). */
  readonly #op: Operator | StorageError;
  readonly #partSizeBytes: number | undefined;
  readonly #partConcurrency: number;

  /**
   * Never throws for a backend problem: a target OpenDAL cannot build (e.g. s3 without a region) yields a store
   * whose every call fails with that reason, so the service can start and say what is wrong.
   */
  constructor(target: OpenDalTarget, options: OpenDalStoreOptions = {}) {
    const where = target.options.bucket ?? target.options.root ?? "";
    this.description = `${target.scheme}:${where}`;
    this.#target = {
      scheme: target.scheme,
      bucket: target.options.bucket,
      endpoint: target.options.endpoint,
      root: target.options.root,
    };
    this.#partConcurrency = options.partConcurrency ?? DEFAULT_PART_CONCURRENCY;
    assert(Number.isInteger(this.#partConcurrency) && this.#partConcurrency >= 1, "partConcurrency must be >= 1");
    let op: Operator | StorageError;
    try {
      const timeout = new TimeoutLayer();
      timeout.timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      timeout.ioTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      op = new Operator(target.scheme, target.options).layer(timeout.build());
    } catch (error) {
      op = new StorageError(`${describeTarget(this.#target)} cannot be used: ${errorMessage(error)}`, { cause: error });
    }
    this.#op = op;
    this.#partSizeBytes = undefined;
    if (op instanceof Operator && op.capability().writeCanMulti) {
      const partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
      const minimum = Number(op.capability().writeMultiMinSize ?? 0n);
      assert(Number.isInteger(partSize) && partSize >= minimum, `partSizeBytes must be at least ${minimum}`);
      this.#partSizeBytes = partSize;
    }
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    const path = checkedKey(key);
    const op = this.#operator();
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const multipart = this.#partSizeBytes !== undefined && data.byteLength > this.#partSizeBytes;
    try {
      if (multipart) {
        await op.write(path, buffer, { chunk: BigInt(this.#partSizeBytes!), concurrent: this.#partConcurrency });
      } else {
        await op.write(path, buffer);
      }
    } catch (error) {
      throw new StorageError(`writing "${path}" to ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = checkedKey(key);
    const op = this.#operator();
    try {
      const options = range === undefined
        ? undefined
        : { offset: BigInt(range.start), size: BigInt(range.endInclusive - range.start + 1) };
      const data = await op.read(path, options);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no object "${path}"`);
      throw new StorageError(`reading "${path}" from ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = checkedKey(key);
    const op = this.#operator();
    try {
      const meta = await op.stat(path);
      if (meta.isDirectory()) return undefined;
      return { sizeBytes: Number(meta.contentLength ?? 0n) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageError(`stat of "${path}" on ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const folder = checkedPrefix(prefix);
    const op = this.#operator();
    try {
      const entries = await op.list(folder === "" ? "/" : folder, { recursive: true });
      return entries.map((entry) => entry.path()).filter((path) => !path.endsWith("/")).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw new StorageError(`listing "${folder}" on ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async delete(key: string): Promise<void> {
    const path = checkedKey(key);
    const op = this.#operator();
    try {
      await op.delete(path);
    } catch (error) {
      throw new StorageError(`deleting "${path}" on ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Lists at most one entry at the root. Not OpenDAL's own `check()`: that one ignores NotFound, which is how a
   * missing OSS bucket answers a listing, so it would pass.
   */
  async check(): Promise<string | undefined> {
    if (this.#op instanceof StorageError) return this.#op.message;
    try {
      const lister = await this.#op.lister("/", { limit: 1 });
      await lister.next();
      return undefined;
    } catch (error) {
      const failure = parseOpenDalError(error);
      if (failure.kind === "NotFound" && this.#target.bucket === undefined) return undefined; // created on write
      return probeProblem(this.#target, failure);
    }
  }

  async presignRead(key: string, expiresS: number): Promise<string | undefined> {
    const path = checkedKey(key);
    assert(
      Number.isInteger(expiresS) && expiresS >= 1 && expiresS <= MAX_PRESIGN_EXPIRES_S,
      `presign lifetime must be 1..${MAX_PRESIGN_EXPIRES_S} s, got ${expiresS}`,
    );
    const op = this.#operator();
    if (!op.capability().presignRead) return undefined;
    try {
      const request = await op.presignRead(path, expiresS);
      const needsHeaders = Object.keys(request.headers).some((name) =>
        !IMPLIED_PRESIGN_HEADERS.has(name.toLowerCase())
      );
      return request.method === "GET" && !needsHeaders ? request.url : undefined;
    } catch (error) {
      throw new StorageError(`presigning "${path}" on ${this.description} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  #operator(): Operator {
    if (this.#op instanceof StorageError) throw this.#op;
    return this.#op;
  }
}

function isNotFound(error: unknown): boolean {
  return parseOpenDalError(error).kind === "NotFound";
}
