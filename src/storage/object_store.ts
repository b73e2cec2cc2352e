/** The storage port: what the recorder and the HTTP layer need from a store of objects, and nothing more. */

/** A stored object's metadata. */
export interface ObjectInfo {
  sizeBytes: number;
}

/** A byte range to read: `start` inclusive, `endInclusive` as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  endInclusive: number;
}

/**
 * Objects addressed by a relative, already validated key such as `stream1/2026/11/21/seg_0001.m4s`.
 * Implementations throw `StorageError` (with `cause`) when the backend fails and `NotFoundError` for missing keys.
 */
export interface ObjectStore {
  /** Human-readable backend name for logs, e.g. `fs:/var/lib/liverec`. */
  readonly description: string;
  write(key: string, data: Uint8Array): Promise<void>;
  read(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** Metadata, or undefined when the object does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Keys of every object below `prefix` (a folder key ending in `/`), recursively. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /**
   * Probes the backend once (a one-key listing, nothing written) and says what is wrong: undefined when it answered,
   * else one human sentence that tells bad credentials, a missing bucket and an unreachable endpoint apart.
   * It never throws for a backend failure, so start-up can log the problem and carry on.
   */
  check(): Promise<string | undefined>;
  /**
   * A URL from which a plain HTTP GET (no extra headers) reads the object for `expiresS` seconds, or undefined when
   * the backend cannot presign (fs, memory). The object is not looked up: the URL of a missing key answers 404.
   */
  presignRead(key: string, expiresS: number): Promise<string | undefined>;
}
