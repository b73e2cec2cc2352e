/**
 * Round trips against werift 0.25.2's SRTP as an independent implementation: werift protects RTP and RTCP, this
 * module unprotects, and the other way round for SRTCP, for the three profiles. werift has no 32-bit-tag profile; its
 * 80-bit SRTP tag cut to its first 4 bytes is the SRTP_AES128_CM_HMAC_SHA1_32 tag (RFC 3711 §4.2), and SRTCP keeps
 * 80-bit tags in that profile.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RtpHeader, SrtcpSession, SrtpSession } from "werift";
import { concat, seededRandom, toHex } from "../shared/testing.ts";
import { parseRtpPacket } from "../rtp/mod.ts";
import { createSrtpContext, type SrtpContext, type SrtpFailure } from "./mod.ts";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_32, SRTP_AES128_CM_HMAC_SHA1_80 } from "./profiles.ts";

interface Profile {
  readonly name: string;
  readonly ours: number;
  readonly werift: 1 | 7;
  readonly masterSaltBytes: number;
  /** Bytes cut from the end of werift's SRTP packets. */
  readonly srtpTagCut: number;
}

const PROFILES: readonly Profile[] = [
  { name: "AES128_CM_HMAC_SHA1_80", ours: SRTP_AES128_CM_HMAC_SHA1_80, werift: 1, masterSaltBytes: 14, srtpTagCut: 0 },
  { name: "AES128_CM_HMAC_SHA1_32", ours: SRTP_AES128_CM_HMAC_SHA1_32, werift: 1, masterSaltBytes: 14, srtpTagCut: 6 },
  { name: "AEAD_AES_128_GCM", ours: SRTP_AEAD_AES_128_GCM, werift: 7, masterSaltBytes: 12, srtpTagCut: 0 },
];

const SSRC = 0x1234abcd;

/** werift's sessions and ours for one profile: werift sends with `weriftKey`, ours sends with `ourKey`. */
class Peers {
  readonly random: () => number;
  readonly weriftKey: Buffer;
  readonly weriftSalt: Buffer;
  readonly ourKey: Buffer;
  readonly ourSalt: Buffer;
  readonly weriftSrtp: SrtpSession;
  readonly weriftSrtcp: SrtcpSession;
  /** Unprotects what werift sends. */
  readonly receiver: SrtpContext;
  /** Protects what we send. */
  readonly sender: SrtpContext;

  constructor(readonly profile: Profile, seed: number) {
    this.random = seededRandom(seed);
    this.weriftKey = this.bytes(16);
    this.weriftSalt = this.bytes(profile.masterSaltBytes);
    this.ourKey = this.bytes(16);
    this.ourSalt = this.bytes(profile.masterSaltBytes);
    const config = {
      keys: {
        localMasterKey: this.weriftKey,
        localMasterSalt: this.weriftSalt,
        remoteMasterKey: this.ourKey,
        remoteMasterSalt: this.ourSalt,
      },
      profile: profile.werift,
    };
    this.weriftSrtp = new SrtpSession(config);
    this.weriftSrtcp = new SrtcpSession(config);
    this.receiver = created(createSrtpContext(profile.ours, this.weriftKey, this.weriftSalt));
    this.sender = created(createSrtpContext(profile.ours, this.ourKey, this.ourSalt));
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => Math.floor(this.random() * 256)));
  }

  /** werift's SRTP packet of a plain RTP packet with `header` and `payload`, and that plain packet. */
  protectRtp(header: RtpHeader, payload: Uint8Array): { srtp: Uint8Array; rtp: Uint8Array } {
    const srtp = this.weriftSrtp.encrypt(Buffer.from(payload), header);
    return {
      srtp: new Uint8Array(srtp.subarray(0, srtp.length - this.profile.srtpTagCut)),
      rtp: concat([header.serialize(header.serializeSize), payload]),
    };
  }

  /** `count` packets from sequence number `firstSequence` with payloads of 1 to 1300 bytes. */
  protectStream(firstSequence: number, count: number): { srtp: Uint8Array; rtp: Uint8Array }[] {
    return Array.from({ length: count }, (_, i) => {
      const header = new RtpHeader({
        sequenceNumber: (firstSequence + i) % 0x10000,
        timestamp: 90 * i,
        ssrc: SSRC,
        payloadType: 96,
        marker: i % 10 === 9,
      });
      return this.protectRtp(header, this.bytes(1 + Math.floor(this.random() * 1300)));
    });
  }

  close(): void {
    this.receiver.close();
    this.sender.close();
  }
}

function created(context: SrtpContext | SrtpFailure): SrtpContext {
  if ("reason" in context) throw new Error(context.message);
  return context;
}

function plain(result: Uint8Array | SrtpFailure): string {
  if (!(result instanceof Uint8Array)) throw new Error(`refused: ${result.reason}`);
  return toHex(result);
}

function reason(result: Uint8Array | SrtpFailure): string {
  return result instanceof Uint8Array ? "accepted" : result.reason;
}

for (const [p, profile] of PROFILES.entries()) {
  Deno.test(`${profile.name}: werift's SRTP decrypts in order across the sequence number wrap`, () => {
    const peers = new Peers(profile, 100 + p);
    // 65500 + 300 wraps once: the packets after it need rollover counter 1 in the tag or IV.
    for (const { srtp, rtp } of peers.protectStream(65500, 300)) {
      assert.equal(plain(peers.receiver.unprotectRtp(srtp)), toHex(rtp));
    }
    peers.close();
  });

  Deno.test(`${profile.name}: reordering inside the window is accepted, replays and older packets refused`, () => {
    const peers = new Peers(profile, 200 + p);
    const packets = peers.protectStream(65400, 1300);
    const pristine = packets.map(({ srtp }) => srtp.slice());
    // Swap neighbours in each group of 8 (across the wrap at packet 136), deliver packet 150 40 packets late and
    // packet 10 at the end, 1290 packets late: behind the 1024-packet window.
    const order = packets.map((_, i) => i).filter((i) => i !== 150 && i !== 10);
    for (let i = 0; i + 1 < order.length; i += 8) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
    order.splice(order.indexOf(190), 0, 150);
    for (const i of order) {
      assert.equal(plain(peers.receiver.unprotectRtp(packets[i]!.srtp)), toHex(packets[i]!.rtp), `packet ${i}`);
    }
    assert.equal(reason(peers.receiver.unprotectRtp(packets[10]!.srtp)), "tooOld");
    assert.equal(reason(peers.receiver.unprotectRtp(pristine[1299]!.slice())), "replayed");
    assert.equal(reason(peers.receiver.unprotectRtp(pristine[1250]!.slice())), "replayed");
    assert.equal(reason(peers.receiver.unprotectRtp(pristine[150]!.slice())), "tooOld");
    peers.close();
  });

  Deno.test(`${profile.name}: a packet from before the first rollover of a stream is refused as tooOld`, () => {
    const peers = new Peers(profile, 600 + p);
    const [early, late] = [40_000, 10].map((sequenceNumber) =>
      peers.protectRtp(new RtpHeader({ sequenceNumber, ssrc: SSRC, payloadType: 96 }), peers.bytes(100))
    );
    assert.equal(plain(peers.receiver.unprotectRtp(late!.srtp)), toHex(late!.rtp));
    // 40000 is more than half the sequence range behind 10: it would need rollover counter -1.
    assert.equal(reason(peers.receiver.unprotectRtp(early!.srtp)), "tooOld");
    peers.close();
  });

  Deno.test(`${profile.name}: a changed header, payload or tag byte is refused and changes nothing`, () => {
    const peers = new Peers(profile, 300 + p);
    const [first, second] = peers.protectStream(1000, 2);
    assert.equal(plain(peers.receiver.unprotectRtp(first!.srtp)), toHex(first!.rtp));
    for (const at of [1, 2, 7, 9, 12, 40, second!.srtp.length - 1]) {
      const tampered = second!.srtp.slice();
      tampered[at]! ^= 0x04;
      assert.equal(reason(peers.receiver.unprotectRtp(tampered)), "authFailed", `byte ${at}`);
    }
    assert.equal(plain(peers.receiver.unprotectRtp(second!.srtp)), toHex(second!.rtp));
    peers.close();
  });

  Deno.test(`${profile.name}: CSRCs, a header extension and padding come through unchanged`, () => {
    const peers = new Peers(profile, 400 + p);
    const media = peers.bytes(700);
    const padded = concat([media, new Uint8Array([0, 0, 0, 4])]);
    const header = new RtpHeader({
      sequenceNumber: 7,
      timestamp: 3000,
      ssrc: SSRC,
      payloadType: 111,
      marker: true,
      csrc: [0x01020304, 0x05060708],
      extension: true,
      extensionProfile: 0xbede,
      extensions: [{ id: 1, payload: Buffer.from([0x30]) }, { id: 3, payload: Buffer.from([1, 2, 3]) }],
      padding: true,
    });
    const { srtp, rtp } = peers.protectRtp(header, padded);
    assert.equal(rtp[0], 0xb2, "V=2, P, X, CC=2");
    const unprotected = peers.receiver.unprotectRtp(srtp);
    assert.equal(plain(unprotected), toHex(rtp));
    const parsed = parseRtpPacket(unprotected as Uint8Array);
    assert.equal(toHex(parsed.payload), toHex(media));
    assert.equal(parsed.ssrc, SSRC);
    peers.close();
  });

  if (profile.srtpTagCut === 0) {
    Deno.test(`${profile.name}: SRTP that liverec protects is decrypted by werift, across the sequence number wrap`, () => {
      const peers = new Peers(profile, 700 + p);
      // werift's stream only gives the plain packets; what liverec sends is made from them.
      for (const { rtp } of peers.protectStream(65500, 300)) {
        const ours = peers.sender.protectRtp(rtp) as Uint8Array;
        assert.equal(toHex(peers.weriftSrtp.decrypt(Buffer.from(ours))), toHex(rtp));
      }
      peers.close();
    });
  }

  Deno.test(`${profile.name}: SRTCP from werift is unprotected, and ours is unprotected by werift`, () => {
    const peers = new Peers(profile, 500 + p);
    const receiverReport = Buffer.from(
      "81c90007 0badcafe 1234abcd 00000010 0001ffff 00000005 00000000 00000000".replace(/ /g, ""),
      "hex",
    );
    const pli = Buffer.from("81ce0002 0badcafe 1234abcd".replace(/ /g, ""), "hex");
    const compound = Buffer.concat([receiverReport, pli]);
    for (const rtcp of [receiverReport, pli, compound, compound]) {
      const srtcp = peers.weriftSrtcp.encrypt(rtcp);
      const pristine = srtcp.slice();
      assert.equal(plain(peers.receiver.unprotectRtcp(srtcp)), toHex(rtcp));
      assert.equal(reason(peers.receiver.unprotectRtcp(pristine)), "replayed");

      const ours = peers.sender.protectRtcp(rtcp) as Uint8Array;
      assert.equal(toHex(peers.weriftSrtcp.decrypt(Buffer.from(ours))), toHex(rtcp));
    }
    peers.close();
  });
}
