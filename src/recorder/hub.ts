/** The registry of live streams: one publisher per stream name, and events when streams come and go. */

import { ConflictError } from "../shared/errors.ts";
import type { LiveSource } from "./source.ts";

/** Why a stream went away: its publisher ended it (a WHIP DELETE), or it was lost (timeout, failure, replaced). */
export type UnpublishReason = "ended" | "lost";

/** Called when a stream is published or unpublished. */
export interface HubListener {
  published(source: LiveSource): void;
  unpublished(source: LiveSource, reason: UnpublishReason): void;
}

/** Live streams by name. */
export class StreamHub {
  readonly #sources = new Map<string, LiveSource>();
  readonly #listeners: HubListener[] = [];

  /** Registers a listener for every later publish and unpublish. */
  listen(listener: HubListener): void {
    this.#listeners.push(listener);
  }

  /** Claims `source.streamId`; throws ConflictError when another publisher holds it. */
  publish(source: LiveSource): void {
    if (this.#sources.has(source.streamId)) {
      throw new ConflictError(`stream "${source.streamId}" is already being published`);
    }
    this.#sources.set(source.streamId, source);
    for (const listener of this.#listeners) listener.published(source);
  }

  /** Releases the stream if `source` still holds it. */
  unpublish(source: LiveSource, reason: UnpublishReason): void {
    if (this.#sources.get(source.streamId) !== source) return;
    this.#sources.delete(source.streamId);
    for (const listener of this.#listeners) listener.unpublished(source, reason);
  }

  get(streamId: string): LiveSource | undefined {
    return this.#sources.get(streamId);
  }

  list(): LiveSource[] {
    return [...this.#sources.values()];
  }
}
