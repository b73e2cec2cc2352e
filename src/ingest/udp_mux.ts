/**
 * One UDP port for every WebRTC session (`[webrtc] udp_port`), the single port a firewall or NAT has to open. liverec
 * binds one socket and gives each session's ICE agent virtual transports on it instead of sockets of its own (werift
 * asks `UdpTransport.init` for them; a hook in webrtc_config.ts answers for the sessions of a mux, recognised by a
 * marker object that werift hands through as `interfaceAddresses`). werift is not loaded here: the port is bound at
 * start, the WebRTC stack with the first publish.
 *
 * Demultiplexing: a datagram from a remote address seen before goes to the transport that address talks to. From a
 * new address only STUN is taken: a binding request goes to the session whose ICE username fragment opens its
 * USERNAME attribute (RFC 8445 §7.2.2: "ours:theirs"), and its address is learnt; a response (to a check or a STUN
 * server query of ours) goes to every transport, whose ICE agents drop transactions they did not start. Anything else
 * from an unknown address is dropped. Of a session's transports (one per advertised address) the one whose address
 * is loopback exactly when the remote's is gets the datagram, as the kernel would route it.
 */

import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import type { RTCPeerConnection } from "werift";
import { openUdpSocket, type UdpSocket } from "../shared/udp_socket.ts";
import { errorMessage } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";

type Address = [host: string, port: number];

/**
 * The receive buffer asked for the shared socket: every session's packets queue in it while the event loop is busy
 * (a GC pause, a file write). The kernel's default (208 KiB, about 90 datagrams of 1,100 bytes) overflows within
 * milliseconds at 24 streams; 8 MiB holds about half a second of 24 streams of 2.5 Mbit/s.
 */
export const UDP_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

/** The STUN magic cookie (RFC 5389 §6). */
const MAGIC_COOKIE = 0x2112a442;
const STUN_HEADER_BYTES = 20;
const STUN_BINDING_REQUEST = 0x0001;
const STUN_ATTRIBUTE_USERNAME = 0x0006;

/** Whether `datagram` is a STUN message (RFC 5389 §6: top two bits zero, the magic cookie, a whole header). */
function isStun(datagram: Uint8Array): boolean {
  if (datagram.length < STUN_HEADER_BYTES || (datagram[0]! & 0xc0) !== 0) return false;
  const cookie = ((datagram[4]! << 24) | (datagram[5]! << 16) | (datagram[6]! << 8) | datagram[7]!) >>> 0;
  return cookie === MAGIC_COOKIE;
}

/** The STUN message type (method and class bits). */
function stunType(datagram: Uint8Array): number {
  return (datagram[0]! << 8) | datagram[1]!;
}

/** Whether `datagram` is a STUN success or error response (class bits C1 = 1, RFC 5389 §6). */
export function isStunResponse(datagram: Uint8Array): boolean {
  return isStun(datagram) && (stunType(datagram) & 0x0100) !== 0;
}

/**
 * The username fragment a STUN binding request addresses, the part of its USERNAME before the colon; undefined for
 * anything else (not STUN, another method or class, no USERNAME, a truncated attribute).
 */
export function bindingRequestUfrag(datagram: Uint8Array): string | undefined {
  if (!isStun(datagram) || stunType(datagram) !== STUN_BINDING_REQUEST) return undefined;
  const end = Math.min(datagram.length, STUN_HEADER_BYTES + ((datagram[2]! << 8) | datagram[3]!));
  for (let at = STUN_HEADER_BYTES; at + 4 <= end;) {
    const type = (datagram[at]! << 8) | datagram[at + 1]!;
    const length = (datagram[at + 2]! << 8) | datagram[at + 3]!;
    if (at + 4 + length > end) return undefined;
    if (type === STUN_ATTRIBUTE_USERNAME) {
      const username = new TextDecoder().decode(datagram.subarray(at + 4, at + 4 + length));
      return username.split(":")[0];
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

/** Whether `datagram` is a DTLS record (RFC 7983 §7: first byte 20 to 63). */
function isDtls(datagram: Uint8Array): boolean {
  const first = datagram[0] ?? 0;
  return first >= 20 && first <= 63;
}

/** Settles after the event loop's next turn, once every promise chain started before has run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/** A session's transport on the shared socket, shaped as werift's ICE uses its `UdpTransport`. */
export class MuxTransport {
  readonly type = "udp";
  readonly addressFamily = 4;
  closed = false;
  onData: (data: Buffer, addr: Address) => void = () => {};
  /** The address werift advertises for it, learnt once the session has answered. */
  localIp: string | undefined;
  #lastRemote: Address | undefined;

  constructor(readonly session: MuxSession) {}

  get mux(): UdpMux {
    return this.session.mux;
  }

  get address(): AddressInfo {
    return this.mux.address;
  }

  /** Hands on a datagram that arrived at `arrivalMs` (Unix ms). */
  deliver(data: Uint8Array, remote: Address, arrivalMs: number): void {
    this.#lastRemote = remote;
    const onMedia = this.session.onMedia;
    // SRTP and SRTCP (RFC 7983 §7: first byte 128 to 191) skip werift once the session takes its media itself.
    if (onMedia !== undefined && data[0]! >= 128 && data[0]! <= 191) {
      onMedia(data, arrivalMs);
    } else {
      this.onData(data instanceof Buffer ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength), remote);
    }
  }

  send = (data: Buffer, addr?: Address): Promise<void> => {
    const to = addr ?? this.#lastRemote;
    if (!this.closed && to !== undefined) this.mux.send(data, to);
    return Promise.resolve();
  };

  close = (): Promise<void> => {
    this.closed = true;
    this.mux.forget(this);
    return Promise.resolve();
  };
}

/** One WebRTC session's share of the port. */
export class MuxSession {
  /** Pass as werift's `iceInterfaceAddresses`: it names the session to the hook and restricts no interface. */
  readonly marker: { liverecMuxSession: string } = { liverecMuxSession: crypto.randomUUID() };
  readonly transports: MuxTransport[] = [];
  readonly ufrags: string[] = [];
  /** Takes the session's SRTP and SRTCP datagrams instead of werift, once set (media_receiver.ts). */
  onMedia: ((datagram: Uint8Array, arrivalMs: number) => void) | undefined;

  constructor(readonly mux: UdpMux) {}

  /** After the answer: learns the session's username fragments and which transport stands for which address. */
  attach(pc: RTCPeerConnection): void {
    for (const iceTransport of pc.iceTransports) {
      const connection = iceTransport.connection as unknown as {
        localUsername: string;
        protocols: { localIp?: string; transport?: unknown }[];
      };
      for (const protocol of connection.protocols) {
        if (protocol.transport instanceof MuxTransport) protocol.transport.localIp = protocol.localIp;
      }
      this.ufrags.push(connection.localUsername);
      this.mux.sessionsByUfrag.set(connection.localUsername, this);
    }
  }

  /** The transport for a datagram from `remoteIp`. */
  transportFor(remoteIp: string): MuxTransport | undefined {
    const open = this.transports.filter((t) => !t.closed);
    return open.find((t) => t.localIp !== undefined && isLoopback(t.localIp) === isLoopback(remoteIp)) ?? open[0];
  }
}

/** Sessions of every open mux, by marker: what the hook in `UdpTransport.init` consults. */
const sessionsByMarker = new Map<string, MuxSession>();

/**
 * A new transport on the shared port for the session `options` names (werift hands the peer connection's
 * `iceInterfaceAddresses` through as `interfaceAddresses`); undefined for a socket of its own. Called by the hook in
 * werift's `UdpTransport.init` (webrtc_config.ts).
 */
export function muxTransportFor(options: { interfaceAddresses?: unknown }): MuxTransport | undefined {
  const marker = (options.interfaceAddresses as { liverecMuxSession?: string } | undefined)?.liverecMuxSession;
  const session = marker === undefined ? undefined : sessionsByMarker.get(marker);
  if (session === undefined) return undefined;
  const transport = new MuxTransport(session);
  session.transports.push(transport);
  return transport;
}

/** The shared socket and its routing tables. */
export class UdpMux {
  #socket!: UdpSocket;
  /** Routes by remote address, then port: no key is built per datagram. */
  readonly #byRemote = new Map<string, Map<number, MuxTransport>>();
  readonly sessionsByUfrag = new Map<string, MuxSession>();
  readonly #sessions = new Set<MuxSession>();

  private constructor() {}

  /**
   * Binds `hostname:port` (port 0: one the system picks); rejects with the socket's error (EADDRINUSE...). A datagram
   * whose handling throws (in werift) is logged as a warning; the others are received as usual.
   */
  static async open(listen: { hostname: string; port: number }, log: Logger): Promise<UdpMux> {
    const mux = new UdpMux();
    mux.#socket = await openUdpSocket(
      listen,
      UDP_RECEIVE_BUFFER_BYTES,
      (data, host, port, arrivalMs) => mux.#receive(data, host, port, arrivalMs),
      (error, host, port) =>
        log("warn", "a WebRTC datagram could not be handled", { from: `${host}:${port}`, error: errorMessage(error) }),
    );
    return mux;
  }

  get address(): AddressInfo {
    return this.#socket.address;
  }

  /** The receive buffer the kernel granted (twice the usable bytes), or undefined when unknown. */
  get receiveBufferBytes(): number | undefined {
    return this.#socket.receiveBufferBytes;
  }

  /** How the socket receives, for the log. */
  get receivePath(): string {
    return this.#socket.receivePath;
  }

  /** A new session's share; `close()` it when the session ends. */
  session(): MuxSession {
    const session = new MuxSession(this);
    this.#sessions.add(session);
    this.#socket.setActive(true);
    sessionsByMarker.set(session.marker.liverecMuxSession, session);
    return session;
  }

  /** Forgets a session and every route to it (its transports close with its peer connection too). */
  closeSession(session: MuxSession): void {
    for (const transport of session.transports) transport.closed = true;
    for (const transport of session.transports) this.forget(transport);
    for (const ufrag of session.ufrags) {
      if (this.sessionsByUfrag.get(ufrag) === session) this.sessionsByUfrag.delete(ufrag);
    }
    sessionsByMarker.delete(session.marker.liverecMuxSession);
    this.#sessions.delete(session);
    if (this.#sessions.size === 0) this.#socket.setActive(false);
  }

  send(data: Uint8Array, to: Address): void {
    this.#socket.send(data, to[1], to[0]);
  }

  /** Drops the routes to a closed transport. */
  forget(transport: MuxTransport): void {
    for (const [address, ports] of this.#byRemote) {
      for (const [port, routed] of ports) if (routed === transport) ports.delete(port);
      if (ports.size === 0) this.#byRemote.delete(address);
    }
  }

  #receive(data: Uint8Array, host: string, port: number, arrivalMs: number): Promise<void> | undefined {
    const remote: Address = [host, port];
    let transport = this.#byRemote.get(host)?.get(port);
    if (transport === undefined) {
      if (isStunResponse(data)) {
        for (const session of this.#sessions) {
          for (const t of session.transports) if (!t.closed) t.deliver(data, remote, arrivalMs);
        }
        return undefined;
      }
      const ufrag = bindingRequestUfrag(data);
      transport = ufrag === undefined ? undefined : this.sessionsByUfrag.get(ufrag)?.transportFor(host);
      if (transport === undefined) return undefined;
      const ports = this.#byRemote.get(host) ?? new Map<number, MuxTransport>();
      this.#byRemote.set(host, ports.set(port, transport));
    }
    transport.deliver(data, remote, arrivalMs);
    // The DTLS record that completes a handshake starts SRTP in werift's promise chains; SRTP packets queued behind
    // it in the same batch must wait for them (or werift drops them, and with them the first keyframe).
    return isDtls(data) ? nextTurn() : undefined;
  }

  /** Hands on the datagrams waiting in the socket. */
  flush(): Promise<void> {
    return this.#socket.flush();
  }

  /** Closes the socket; sessions still open stop receiving. */
  close(): Promise<void> {
    for (const session of [...this.#sessions]) this.closeSession(session);
    return this.#socket.close();
  }
}
