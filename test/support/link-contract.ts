/**
 * The Link contract, written once and run against every implementation
 * (simulated LoRa, UDP, and later the RNode over serial). It knows nothing
 * about the kind of link: the factory hands over two started links that hear
 * each other and a `settle` that returns once frames in flight have arrived.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Link, ReceivedFrame } from "../../src/radio/link.js";

export interface LinkPair {
  /** Two started links, each hearing the other. */
  readonly a: Link;
  readonly b: Link;
  /** Resolves once every frame sent so far has arrived or been lost for good. */
  settle(): Promise<void>;
  /** Stops both links and frees what the pair holds (sockets, media). */
  close(): Promise<void>;
}

/** A frame of `length` bytes whose content depends on `seed` and the position. */
function frameOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

function collect(link: Link): ReceivedFrame[] {
  const got: ReceivedFrame[] = [];
  link.onFrame((f) => got.push(f));
  return got;
}

function bytesOf(frames: readonly ReceivedFrame[]): number[][] {
  return frames.map((f) => [...f.bytes]);
}

export function runLinkContract(name: string, makePair: () => Promise<LinkPair>): void {
  describe(`Link contract: ${name}`, () => {
    let pair: LinkPair;
    beforeEach(async () => {
      pair = await makePair();
    });
    afterEach(async () => {
      await pair.close();
    });

    it("reports a positive integer mtu and a finite airtime that grows with size", () => {
      const { a } = pair;
      assert.ok(Number.isInteger(a.mtu) && a.mtu > 0, `mtu ${a.mtu}`);
      const small = a.airtimeMs(1);
      const large = a.airtimeMs(a.mtu);
      assert.ok(Number.isFinite(small) && small >= 0);
      assert.ok(large >= small);
    });

    it("delivers frames up to the mtu intact and in order, both ways", async () => {
      const { a, b } = pair;
      const atB = collect(b);
      const atA = collect(a);
      const sizes = [1, 2, 17, Math.floor(a.mtu / 2), a.mtu - 1, a.mtu];
      const frames = sizes.map((n, i) => frameOf(n, i));
      for (const f of frames) a.send(f);
      await pair.settle();
      assert.deepEqual(bytesOf(atB), bytesOf(frames.map((bytes) => ({ bytes }))));
      const reply = frameOf(b.mtu, 99);
      b.send(reply);
      await pair.settle();
      assert.deepEqual(bytesOf(atA), [[...reply]]);
    });

    it("keeps a copy of the frame: changing the buffer after send changes nothing", async () => {
      const { a, b } = pair;
      const atB = collect(b);
      const frame = frameOf(40, 3);
      const expected = [...frame];
      a.send(frame);
      frame.fill(0);
      await pair.settle();
      assert.deepEqual(bytesOf(atB), [expected]);
    });

    it("throws RangeError for a frame longer than the mtu, and sends nothing", async () => {
      const { a, b } = pair;
      const atB = collect(b);
      assert.throws(() => a.send(new Uint8Array(a.mtu + 1)), RangeError);
      await pair.settle();
      assert.equal(atB.length, 0);
      assert.equal(a.status().framesSent, 0);
    });

    it("moves the status counters on both sides", async () => {
      const { a, b } = pair;
      collect(b);
      assert.equal(a.status().state, "up");
      a.send(frameOf(10, 1));
      a.send(frameOf(20, 2));
      await pair.settle();
      const sa = a.status();
      const sb = b.status();
      assert.equal(sa.framesSent, 2);
      assert.equal(sa.bytesSent, 30);
      assert.equal(sb.framesReceived, 2);
      assert.equal(sb.bytesReceived, 30);
      assert.ok(sa.target.length > 0);
    });

    it("hands frames to the latest receiver only", async () => {
      const { a, b } = pair;
      const first = collect(b);
      const second = collect(b);
      a.send(frameOf(5, 5));
      await pair.settle();
      assert.equal(first.length, 0);
      assert.equal(second.length, 1);
    });

    it("stops idempotently, and send while stopped does not throw", async () => {
      const { a } = pair;
      await a.stop();
      await a.stop();
      assert.equal(a.status().state, "stopped");
      assert.doesNotThrow(() => a.send(frameOf(8, 8)));
    });

    it("sends a frame queued while stopped once started again", async () => {
      const { a, b } = pair;
      const atB = collect(b);
      await a.stop();
      const frame = frameOf(12, 4);
      a.send(frame);
      await pair.settle();
      assert.equal(atB.length, 0);
      await a.start();
      await pair.settle();
      assert.deepEqual(bytesOf(atB), [[...frame]]);
    });

    it("delivers a burst of frames in order", async () => {
      const { a, b } = pair;
      const atB = collect(b);
      const frames = Array.from({ length: 12 }, (_, i) => frameOf(30 + i, i));
      for (const f of frames) a.send(f);
      await pair.settle();
      assert.deepEqual(bytesOf(atB), bytesOf(frames.map((bytes) => ({ bytes }))));
    });
  });
}
