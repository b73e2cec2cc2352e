/** Domain errors shared by every layer; the HTTP layer maps them to status codes in one place. */

/** Input from outside (a request, a name, an SDP) is not acceptable; the message names the value. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

/** The thing asked for does not exist (a stream that is not published, an object that is not stored). */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The request conflicts with the current state (a second publisher, a recording already running). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

/** The offer or stream uses something liverec does not support (a codec, a packetization mode). */
export class UnsupportedError extends Error {
  override name = "UnsupportedError";
}

/** The storage backend failed; `cause` carries the backend's own error. */
export class StorageError extends Error {
  override name = "StorageError";
}

/** The configuration is invalid; `key` is the dotted path of the offending key. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly key: string, message: string) {
    super(`invalid config: "${key}" ${message}`);
  }
}

/** The message of a thrown value, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether a file operation failed because the file or folder does not exist (Node's ENOENT, on Deno and Bun). */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ENOENT";
}
