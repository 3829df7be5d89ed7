/**
 * A UDP relay between two site processes on loopback: each site lists the
 * relay's port for it as its only peer, and the relay passes every datagram
 * on to the other site unchanged. The test sees each frame as it is
 * delivered (to kill a site while it ingests) and counts them.
 *
 * Imported by tests only; no side effects.
 */
import { createSocket, type Socket } from "node:dgram";

export interface UdpRelay {
  /** The port site i must list as its peer (the relay's socket facing it). */
  readonly peerPortFor: readonly [number, number];
  /** Datagrams delivered to site 0 and site 1. */
  readonly delivered: [number, number];
  /** Called after each datagram is handed to the kernel for site `to`. */
  onDeliver: (to: 0 | 1) => void;
  close(): Promise<void>;
}

async function bound(): Promise<Socket> {
  const s = createSocket("udp4");
  s.on("error", () => {}); // a datagram to a killed site's port: nothing to do, the site resends
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  return s;
}

/** Starts a relay for sites listening on `sitePorts` (127.0.0.1). */
export async function startUdpRelay(sitePorts: readonly [number, number]): Promise<UdpRelay> {
  const sockets = [await bound(), await bound()] as const;
  const relay: UdpRelay = {
    peerPortFor: [sockets[0].address().port, sockets[1].address().port],
    delivered: [0, 0],
    onDeliver: () => {},
    close: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
  // What site i sends arrives at sockets[i]; it leaves from the other socket, the one site j lists as its peer.
  ([0, 1] as const).forEach((from) => {
    const to = from === 0 ? 1 : 0;
    sockets[from].on("message", (msg) => {
      sockets[to].send(msg, sitePorts[to], "127.0.0.1", (err) => {
        if (err) return;
        relay.delivered[to] += 1;
        relay.onDeliver(to);
      });
    });
  });
  return relay;
}
