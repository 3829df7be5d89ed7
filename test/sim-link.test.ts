import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rnodeFrameAirtimeMs } from "../src/radio/airtime.js";
import type { ReceivedFrame } from "../src/radio/link.js";
import type { TappedPacket } from "../src/radio/lora-medium.js";
import { createSimLink, type SimLinkOptions } from "../src/radio/sim-link.js";
import { SF7_868, createVirtualAir, type VirtualAir } from "./support/sim-air.js";

type Extra = Partial<Omit<SimLinkOptions, "medium" | "port" | "id" | "settings" | "clock">>;

async function started(air: VirtualAir, id: string, extra: Extra = {}) {
  const link = createSimLink({ medium: air.medium, id, settings: SF7_868, clock: air.clock, ...extra });
  const got: ReceivedFrame[] = [];
  link.onFrame((f) => got.push(f));
  await link.start();
  return { link, got };
}

function tapOf(air: VirtualAir): TappedPacket[] {
  const tapped: TappedPacket[] = [];
  air.medium.tap((p) => tapped.push(p));
  return tapped;
}

const frame = (length: number, fill = 9) => new Uint8Array(length).fill(fill);

describe("sim link", () => {
  it("puts the RNode header byte in front on the air and strips it on receive, with RSSI and SNR", async () => {
    const air = createVirtualAir();
    air.medium.setLink("a", "b", { rssi: -101, snr: 2.5 });
    const tapped = tapOf(air);
    const { link: a } = await started(air, "a");
    const { got } = await started(air, "b");
    a.send(Uint8Array.of(1, 2, 3));
    air.settle();
    assert.equal(tapped[0]?.bytes.length, 4);
    assert.equal((tapped[0]?.bytes[0] ?? 0xff) & 0x0f, 0, "no split flag");
    assert.deepEqual(got.map((f) => [[...f.bytes], f.rssi, f.snr]), [[[1, 2, 3], -101, 2.5]]);
    assert.equal(a.airtimeMs(3), rnodeFrameAirtimeMs(3, SF7_868));
    assert.equal(air.medium.counters("a").airtimeMs, a.airtimeMs(3));
  });

  it("splits a frame of 255..508 bytes into two packets with one header and joins them again", async () => {
    const air = createVirtualAir();
    const tapped = tapOf(air);
    const { link: a } = await started(air, "a", { mtu: 508 });
    const { got } = await started(air, "b", { mtu: 508 });
    const big = Uint8Array.from({ length: 400 }, (_, i) => i & 0xff);
    a.send(big);
    air.settle();
    assert.deepEqual(tapped.map((p) => p.bytes.length), [255, 147]);
    assert.equal(tapped[0]?.bytes[0], tapped[1]?.bytes[0], "both halves carry the same header");
    assert.equal((tapped[0]?.bytes[0] ?? 0) & 0x01, 1, "split flag");
    assert.deepEqual(got.map((f) => [...f.bytes]), [[...big]]);
    assert.equal(air.medium.counters("a").airtimeMs, a.airtimeMs(400));
  });

  it("sends one frame at a time: each starts when the previous leaves the air", async () => {
    const air = createVirtualAir();
    const tapped = tapOf(air);
    const { link: a } = await started(air, "a");
    await started(air, "b");
    for (const n of [10, 200, 30]) a.send(frame(n));
    air.settle();
    assert.equal(tapped.length, 3);
    for (let i = 1; i < tapped.length; i++) {
      const before = tapped[i - 1] as TappedPacket;
      assert.equal(tapped[i]?.atMs, before.atMs + before.airtimeMs);
    }
    assert.equal(a.status().framesSent, 3);
  });

  it("drops and counts frames beyond the bounded queue", async () => {
    const air = createVirtualAir();
    const { link: a } = await started(air, "a", { queueLimit: 2 });
    const { got } = await started(air, "b");
    for (let i = 0; i < 5; i++) a.send(frame(20, i));
    air.settle();
    assert.deepEqual(got.map((f) => f.bytes[0]), [0, 1, 2]);
    assert.equal(a.status().dropped["queue-full"], 2);
  });

  it("waits while it hears the channel busy (CSMA), and collides without it", async () => {
    for (const csma of [true, false]) {
      const air = createVirtualAir();
      const tapped = tapOf(air);
      const { link: a } = await started(air, "a", { csma });
      const { link: b } = await started(air, "b", { csma });
      const { got } = await started(air, "c");
      b.send(frame(200, 0xb));
      air.runUntil(20);
      a.send(frame(20, 0xa));
      air.settle();
      const [first, second] = tapped;
      if (csma) {
        assert.ok((second?.atMs ?? 0) >= (first?.atMs ?? 0) + (first?.airtimeMs ?? 0), "a waited for b");
        assert.deepEqual(got.map((f) => f.bytes[0]), [0xb, 0xa]);
      } else {
        assert.equal(second?.atMs, 20);
        assert.equal(got.length, 0);
      }
    }
  });

  it("discards a lone split half like the firmware, and counts it", async () => {
    const air = createVirtualAir();
    const raw = air.medium.attach("raw");
    const { link: b, got } = await started(air, "b", { mtu: 508 });
    air.runUntil(raw.transmit(Uint8Array.of(0x31, 7, 7), SF7_868));
    raw.transmit(Uint8Array.of(0x20, 8), SF7_868);
    air.settle();
    assert.deepEqual(got.map((f) => [...f.bytes]), [[8]]);
    assert.equal(b.status().dropped["orphan-half"], 1);
  });

  it("hears nothing while stopped", async () => {
    const air = createVirtualAir();
    const { link: a } = await started(air, "a");
    const { link: b, got } = await started(air, "b");
    await b.stop();
    a.send(frame(5));
    air.settle();
    assert.equal(got.length, 0);
    assert.equal(air.medium.counters("b").lost["not-tuned"], 1);
    assert.equal(b.status().state, "stopped");
  });
});
