/**
 * A Link over UDP for sites on one LAN (and loopback tests): each frame is
 * one datagram sent to every configured peer, the same frames that would go
 * on the air, so a site can swap its radio for a cable without other change.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { RNODE_SINGLE_PAYLOAD } from "./airtime.js";
import type { Link, LinkStatus, ReceivedFrame } from "./link.js";

/** Frames held while the link is down (about a minute of a busy station's frames); more are dropped and counted. */
export const DEFAULT_UDP_QUEUE_FRAMES = 64;

export interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface UdpLinkOptions {
  /** Where to listen; port 0 picks a free port once, then reuses it on every restart. */
  readonly bind: UdpEndpoint;
  /** Where each frame goes (unicast, or a broadcast address with `broadcast`). */
  readonly peers: readonly UdpEndpoint[];
  /**
   * Allows sending to broadcast addresses (SO_BROADCAST); our own broadcasts
   * coming back are dropped. Senders are still checked against `peers`, so a
   * broadcast setup usually lists each site too, or sets `open`.
   */
  readonly broadcast?: boolean;
  /** Accepts frames from any source; otherwise only from a configured peer's address and port. */
  readonly open?: boolean;
  /** Frames kept while the link is down. Default 64. */
  readonly queueLimit?: number;
}

/** A UDP link also tells its bound address and lets the peer list change (e.g. after ephemeral binds). */
export interface UdpLink extends Link {
  /** The address and port bound, once started. */
  address(): UdpEndpoint | undefined;
  setPeers(peers: readonly UdpEndpoint[]): void;
}

/** The UDP port could not be bound; the message says which and what to do. */
export class UdpBindError extends Error {
  constructor(
    readonly endpoint: UdpEndpoint,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "UdpBindError";
  }
}

function describeEndpoint(e: UdpEndpoint): string {
  return isIPv6(e.address) ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** "::ffff:10.0.0.1" and "10.0.0.1" are the same sender. */
function plainAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** Whether a datagram came from this very socket (a broadcast hears itself). */
function isOwnEcho(from: RemoteInfo, bound: UdpEndpoint): boolean {
  if (from.port !== bound.port) return false;
  const address = plainAddress(from.address);
  if (address === plainAddress(bound.address)) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => plainAddress(i.address) === address));
}

function bindError(endpoint: UdpEndpoint, error: NodeJS.ErrnoException): UdpBindError {
  const where = `UDP ${describeEndpoint(endpoint)}`;
  const text =
    error.code === "EADDRINUSE"
      ? `${where} is already in use by another program (or another meshlogd): stop it, or choose a free port for this link in the config`
      : error.code === "EADDRNOTAVAIL"
        ? `${where}: no network interface has address ${endpoint.address}; bind to one of this machine's addresses or 0.0.0.0`
        : `${where} could not be bound (${error.code ?? error.message}): check the address and port in the config`;
  return new UdpBindError(endpoint, error.code, text);
}

function openSocket(endpoint: UdpEndpoint, broadcast: boolean): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(endpoint.address) ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      socket.close();
      reject(bindError(endpoint, error));
    };
    socket.once("error", fail);
    socket.bind(endpoint.port, endpoint.address, () => {
      socket.off("error", fail);
      if (broadcast) socket.setBroadcast(true);
      resolve(socket);
    });
  });
}

export function createUdpLink(options: UdpLinkOptions): UdpLink {
  const mtu = RNODE_SINGLE_PAYLOAD;
  const queueLimit = options.queueLimit ?? DEFAULT_UDP_QUEUE_FRAMES;
  let bind = options.bind;
  let peers = [...options.peers];
  let socket: Socket | undefined;
  let state: LinkStatus["state"] = "down";
  let reason: string | undefined = "not started yet";
  let starting: Promise<void> | undefined;
  let receive: (frame: ReceivedFrame) => void = () => {};
  const queue: Uint8Array[] = [];
  const counts = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, datagramsSent: 0, sending: 0 };
  const dropped: Record<string, number> = {};
  const drop = (why: string) => void (dropped[why] = (dropped[why] ?? 0) + 1);

  function known(from: RemoteInfo): boolean {
    const address = plainAddress(from.address);
    return peers.some((p) => plainAddress(p.address) === address && p.port === from.port);
  }

  function onMessage(message: Buffer, from: RemoteInfo): void {
    if (options.broadcast && isOwnEcho(from, bind)) return drop("own-echo");
    if (!options.open && !known(from)) return drop("unknown-source");
    if (message.length > mtu) return drop("oversize");
    counts.framesReceived++;
    counts.bytesReceived += message.length;
    receive({ bytes: new Uint8Array(message) });
  }

  function transmit(s: Socket, frame: Uint8Array): void {
    if (peers.length === 0) return drop("no-peers");
    let pending = peers.length;
    let failed = false;
    counts.sending += pending;
    for (const peer of peers) {
      s.send(frame, peer.port, peer.address, (error) => {
        counts.sending--;
        if (error) failed = true;
        else counts.datagramsSent++;
        if (--pending > 0) return;
        if (failed) return drop("send-failed");
        counts.framesSent++;
        counts.bytesSent += frame.length;
      });
    }
  }

  async function bindSocket(): Promise<void> {
    state = "starting";
    try {
      const s = await openSocket(bind, options.broadcast ?? false);
      if (state !== "starting") return void s.close(); // stopped while binding
      bind = { address: bind.address, port: s.address().port };
      s.on("message", onMessage);
      s.on("error", onSocketError);
      socket = s;
      state = "up";
      reason = undefined;
      for (const frame of queue.splice(0)) transmit(s, frame);
    } catch (error) {
      state = "down";
      reason = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  function onSocketError(error: Error): void {
    state = "down";
    reason = `UDP ${describeEndpoint(bind)} failed: ${error.message}; restart the link`;
    socket?.close();
    socket = undefined;
  }

  return {
    mtu,
    airtimeMs: () => 0,
    address: () => (socket ? bind : undefined),
    setPeers(next) {
      peers = [...next];
    },
    send(frame) {
      if (frame.length > mtu) throw new RangeError(`UDP link ${describeEndpoint(bind)}: frame of ${frame.length} bytes exceeds mtu ${mtu}`);
      if (state === "up" && socket) return transmit(socket, frame.slice());
      if (queue.length >= queueLimit) return drop("queue-full");
      queue.push(frame.slice());
    },
    onFrame(next) {
      receive = next;
    },
    async start() {
      if (state === "up") return;
      starting ??= bindSocket().finally(() => (starting = undefined));
      return starting;
    },
    async stop() {
      state = "stopped";
      reason = undefined;
      const s = socket;
      socket = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    status: () => ({
      kind: "udp",
      target: describeEndpoint(bind),
      state,
      ...(reason === undefined ? {} : { reason }),
      framesSent: counts.framesSent,
      framesReceived: counts.framesReceived,
      bytesSent: counts.bytesSent,
      bytesReceived: counts.bytesReceived,
      dropped: { ...dropped },
      details: {
        peers: peers.map(describeEndpoint),
        datagramsSent: counts.datagramsSent,
        sending: counts.sending,
        queued: queue.length,
        open: options.open ?? false,
      },
    }),
  };
}
