/**
 * Picks the one simulcast layer (RFC 8853) of a publish that is recorded: the one `[webrtc] simulcast_layer` names,
 * or else the largest picture. The offer says nothing of the layers' sizes, so each layer is depacketized until its
 * first keyframe, whose format gives the size; the choice is made once every layer has shown one, or once `waitMs`
 * passed with at least one (a publisher may hold its top layers back until its bandwidth estimate allows them). A
 * layer that shows a larger picture later takes over (the recording goes on under its SSRC, in a new period for its
 * size); a named layer is kept whatever comes. Packets of the other layers are never recorded.
 */

import type { Depacketizer, VideoCodec } from "../codec/mod.ts";
import type { RtpPacket } from "../rtp/mod.ts";

/** How long to wait for every layer's first keyframe before choosing among those seen. */
const DEFAULT_WAIT_MS = 3_000;

interface Layer {
  depacketizer: Depacketizer;
  /** Luma samples of the layer's picture, once a keyframe showed it. */
  areaPx: number | undefined;
}

/** The layer choice of one simulcast publish. */
export class LayerPicker {
  readonly #codec: VideoCodec;
  readonly #layers = new Map<string, Layer>();
  readonly #waitMs: number;
  /** The layer was named in the configuration: it is never replaced. */
  readonly #fixed: boolean;
  #firstPacketMs: number | undefined;
  #chosen: string | undefined;

  /** `rids` are the offered layers; `wanted` is chosen at once when it is one of them. */
  constructor(opts: { codec: VideoCodec; rids: readonly string[]; wanted: string | undefined; waitMs?: number }) {
    this.#codec = opts.codec;
    this.#waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
    this.#fixed = opts.wanted !== undefined && opts.rids.includes(opts.wanted);
    if (this.#fixed) this.#chosen = opts.wanted;
    for (const rid of opts.rids) {
      this.#layers.set(rid, { depacketizer: opts.codec.createDepacketizer(), areaPx: undefined });
    }
  }

  /** The recorded layer's rid, once chosen. */
  get chosen(): string | undefined {
    return this.#chosen;
  }

  /** Chooses now if not yet chosen: the largest layer seen, or else the first offered. */
  choose(): string {
    this.#chosen ??= this.#largestSeen() ?? [...this.#layers.keys()][0]!;
    return this.#chosen;
  }

  /**
   * Looks at a packet of layer `rid` that arrived at `arrivalMs`; answers the chosen rid once there is one, which a
   * layer of a larger picture may replace later.
   */
  push(rid: string, packet: RtpPacket, arrivalMs: number): string | undefined {
    const layer = this.#layers.get(rid);
    if (this.#fixed || layer === undefined || (this.#chosen !== undefined && layer.areaPx !== undefined)) {
      return this.#chosen;
    }
    this.#firstPacketMs ??= arrivalMs;
    if (layer.areaPx === undefined) {
      const input = { type: "packet" as const, packet, extendedSequence: packet.sequenceNumber };
      for (const frame of layer.depacketizer.push(input)) {
        if (!frame.keyframe) continue;
        const format = this.#codec.format(frame, []);
        if (format !== undefined) layer.areaPx = format.widthPx * format.heightPx;
      }
    }
    const allSeen = [...this.#layers.values()].every((l) => l.areaPx !== undefined);
    if (this.#chosen !== undefined || allSeen || arrivalMs - this.#firstPacketMs >= this.#waitMs) {
      this.#chosen = this.#largestSeen();
    }
    return this.#chosen;
  }

  #largestSeen(): string | undefined {
    let best: [string, number] | undefined;
    for (const [rid, { areaPx }] of this.#layers) {
      if (areaPx !== undefined && (best === undefined || areaPx > best[1])) best = [rid, areaPx];
    }
    return best?.[0];
  }
}
