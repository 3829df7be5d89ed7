import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReceivedFrame } from "../src/radio/link.js";
import { UdpBindError, createUdpLink, type UdpEndpoint, type UdpLink } from "../src/radio/udp-link.js";

const LOOPBACK = "127.0.0.1";
/** Stops waiting after this long and lets the assertions report what is missing. */
const WAIT_LIMIT_MS = 5_000;

async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; waited < WAIT_LIMIT_MS && !done(); waited += 2) await sleep(2);
}

async function listening(options: { peers?: UdpEndpoint[]; open?: boolean } = {}): Promise<{ link: UdpLink; got: ReceivedFrame[] }> {
  const link = createUdpLink({ bind: { address: LOOPBACK, port: 0 }, peers: options.peers ?? [], open: options.open ?? false });
  const got: ReceivedFrame[] = [];
  link.onFrame((f) => got.push(f));
  await link.start();
  return { link, got };
}

async function rawSocket(): Promise<{ socket: Socket; endpoint: UdpEndpoint }> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  return { socket, endpoint: { address: LOOPBACK, port: socket.address().port } };
}

function sendRaw(socket: Socket, bytes: Uint8Array, to: UdpEndpoint): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, to.port, to.address, (e) => (e ? reject(e) : resolve())));
}

describe("UDP link", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup) await c();
  });

  it("is not a radio: airtime 0, mtu 254 like one LoRa packet's payload", () => {
    const link = createUdpLink({ bind: { address: LOOPBACK, port: 0 }, peers: [] });
    assert.equal(link.airtimeMs(254), 0);
    assert.equal(link.mtu, 254);
  });

  it("drops and counts frames from unknown sources, unless open", async () => {
    const closed = await listening();
    const open = await listening({ open: true });
    const stranger = await rawSocket();
    cleanup.push(() => closed.link.stop(), () => open.link.stop(), async () => void stranger.socket.close());
    await sendRaw(stranger.socket, Uint8Array.of(1), closed.link.address()!);
    await sendRaw(stranger.socket, Uint8Array.of(2), open.link.address()!);
    await until(() => closed.link.status().dropped["unknown-source"] === 1 && open.got.length === 1);
    assert.equal(closed.got.length, 0);
    assert.equal(closed.link.status().dropped["unknown-source"], 1);
    assert.deepEqual(open.got.map((f) => [...f.bytes]), [[2]]);
  });

  it("drops and counts a datagram longer than the mtu, even from a peer", async () => {
    const peer = await rawSocket();
    const { link, got } = await listening({ peers: [peer.endpoint] });
    cleanup.push(() => link.stop(), async () => void peer.socket.close());
    await sendRaw(peer.socket, new Uint8Array(300), link.address()!);
    await sendRaw(peer.socket, new Uint8Array(254), link.address()!);
    await until(() => got.length === 1);
    assert.equal(link.status().dropped["oversize"], 1);
    assert.deepEqual(got.map((f) => f.bytes.length), [254]);
  });

  it("sends each frame to every peer", async () => {
    const b = await listening();
    const c = await listening();
    const a = await listening({ peers: [b.link.address()!, c.link.address()!] });
    b.link.setPeers([a.link.address()!]);
    c.link.setPeers([a.link.address()!]);
    cleanup.push(() => a.link.stop(), () => b.link.stop(), () => c.link.stop());
    a.link.send(Uint8Array.of(5, 6));
    await until(() => b.got.length === 1 && c.got.length === 1);
    assert.deepEqual([b.got.length, c.got.length], [1, 1]);
    assert.equal(a.link.status().framesSent, 1);
    assert.equal(a.link.status().details?.["datagramsSent"], 2);
  });

  it("drops its own datagrams coming back when broadcasting", async () => {
    const link = createUdpLink({ bind: { address: LOOPBACK, port: 0 }, peers: [], broadcast: true, open: true });
    const got: ReceivedFrame[] = [];
    link.onFrame((f) => got.push(f));
    await link.start();
    cleanup.push(() => link.stop());
    link.setPeers([link.address()!]);
    link.send(Uint8Array.of(1));
    await until(() => link.status().dropped["own-echo"] === 1);
    assert.equal(link.status().dropped["own-echo"], 1);
    assert.equal(got.length, 0);
  });

  it("says which address is taken and what to do when the port is in use", async () => {
    const holder = await listening();
    cleanup.push(() => holder.link.stop());
    const taken = holder.link.address()!;
    const second = createUdpLink({ bind: taken, peers: [] });
    await assert.rejects(second.start(), (error: unknown) => {
      assert.ok(error instanceof UdpBindError);
      assert.equal(error.code, "EADDRINUSE");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${taken.port}`));
      assert.match(error.message, /already in use.*choose a free port/);
      return true;
    });
    assert.equal(second.status().state, "down");
    assert.match(second.status().reason ?? "", /already in use/);
  });
});
