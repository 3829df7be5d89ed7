import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AirPort } from "../src/radio/air-port.js";
import { packetAirtimeMs } from "../src/radio/airtime.js";
import { scaledClock } from "../src/radio/clock.js";
import { AirPortMisuseError, createLoRaMedium, type LoRaMedium, type TappedPacket } from "../src/radio/lora-medium.js";
import { lineTopology, starTopology } from "../src/radio/lora-topology.js";
import { seededRandom } from "../src/engine/random.js";
import { SF7_868, createVirtualAir } from "./support/sim-air.js";

interface Heard {
  at: number;
  bytes: number[];
  rssi: number;
  snr: number;
}

/** Attaches and tunes a station to SF7_868, recording what it hears and when. */
function station(medium: LoRaMedium, id: string, now: () => number): { port: AirPort; heard: Heard[] } {
  const port = medium.attach(id);
  const heard: Heard[] = [];
  port.tune(SF7_868);
  port.onPacket((p, rssi, snr) => heard.push({ at: now(), bytes: [...p], rssi, snr }));
  return { port, heard };
}

function stations(medium: LoRaMedium, now: () => number, ...ids: string[]) {
  return ids.map((id) => station(medium, id, now));
}

const packet = (length: number, fill = 1) => new Uint8Array(length).fill(fill);

describe("LoRa medium", () => {
  it("delivers a packet when its time on air ends, not before", () => {
    const air = createVirtualAir();
    const [a, b] = stations(air.medium, air.clock.now, "a", "b");
    const airtime = a!.port.transmit(packet(50, 7), SF7_868);
    assert.equal(airtime, packetAirtimeMs(50, SF7_868));
    air.runUntil(airtime - 0.001);
    assert.equal(b!.heard.length, 0);
    air.settle();
    assert.deepEqual(b!.heard.map((h) => [h.at, h.bytes.length]), [[airtime, 50]]);
    assert.equal(a!.heard.length, 0, "a sender does not hear itself");
    assert.equal(air.medium.counters("b").delivered, 1);
  });

  it("is not heard by a receiver tuned to another SF or frequency, or switched off", () => {
    const air = createVirtualAir();
    const [a, sf9, freq, off] = stations(air.medium, air.clock.now, "a", "sf9", "freq", "off");
    sf9!.port.tune({ ...SF7_868, sf: 9 });
    freq!.port.tune({ ...SF7_868, frequency: 869_525_000 });
    off!.port.tune(null);
    a!.port.transmit(packet(20), SF7_868);
    air.settle();
    for (const s of [sf9, freq, off]) assert.equal(s!.heard.length, 0);
    assert.equal(air.medium.counters().lost["not-tuned"], 3);
  });

  it("is half duplex: a station sending during a packet misses it, yet may still send", () => {
    const air = createVirtualAir();
    const [a, b] = stations(air.medium, air.clock.now, "a", "b");
    a!.port.transmit(packet(200), SF7_868);
    air.runUntil(10);
    assert.doesNotThrow(() => b!.port.transmit(packet(10), SF7_868));
    air.settle();
    assert.equal(a!.heard.length + b!.heard.length, 0);
    assert.equal(air.medium.counters("a").lost["half-duplex"], 1);
    assert.equal(air.medium.counters("b").lost["half-duplex"], 1);
  });

  it("loses both overlapping packets at a receiver that hears both", () => {
    const air = createVirtualAir(1, { captureDb: null });
    const [a, b, c] = stations(air.medium, air.clock.now, "a", "b", "c");
    a!.port.transmit(packet(100), SF7_868);
    air.runUntil(50);
    b!.port.transmit(packet(100), SF7_868);
    air.settle();
    assert.equal(c!.heard.length, 0);
    assert.equal(air.medium.counters("c").lost.collision, 2);
  });

  it("lets the first packet survive a collision when it is at least captureDb stronger", () => {
    const air = createVirtualAir();
    const [a, b, c] = stations(air.medium, air.clock.now, "a", "b", "c");
    air.medium.setLink("a", "c", { rssi: -80 });
    air.medium.setLink("b", "c", { rssi: -100 });
    a!.port.transmit(packet(100, 0xa), SF7_868);
    air.runUntil(50);
    b!.port.transmit(packet(100, 0xb), SF7_868);
    air.settle();
    assert.deepEqual(c!.heard.map((h) => h.bytes[0]), [0xa]);
    assert.equal(air.medium.counters("c").lost.collision, 1);
  });

  it("does not collide packets that follow each other back to back", () => {
    const air = createVirtualAir();
    const [a, b, c] = stations(air.medium, air.clock.now, "a", "b", "c");
    const first = a!.port.transmit(packet(60, 1), SF7_868);
    air.runUntil(first);
    b!.port.transmit(packet(60, 2), SF7_868);
    air.settle();
    assert.deepEqual(c!.heard.map((h) => h.bytes[0]), [1, 2]);
  });

  it("loses each receiver's copy independently at the link's loss rate (seeded)", () => {
    const air = createVirtualAir(42, { defaults: { quality: { loss: 0.3 } } });
    const [a, b, c] = stations(air.medium, air.clock.now, "a", "b", "c");
    const rounds = 2000;
    let bothLost = 0;
    for (let i = 0; i < rounds; i++) {
      const before = [b!.heard.length, c!.heard.length];
      air.runUntil(air.clock.now() + a!.port.transmit(packet(10), SF7_868));
      if (b!.heard.length === before[0] && c!.heard.length === before[1]) bothLost++;
    }
    for (const s of [b, c]) assert.ok(Math.abs(1 - s!.heard.length / rounds - 0.3) < 0.04, `lost ${rounds - s!.heard.length}`);
    assert.ok(Math.abs(bothLost / rounds - 0.09) < 0.03, `both lost ${bothLost}`);
    assert.equal(air.medium.counters().lost.loss, 2 * rounds - b!.heard.length - c!.heard.length);
  });

  it("delivers each directed link's RSSI and SNR", () => {
    const air = createVirtualAir();
    const [a, b] = stations(air.medium, air.clock.now, "a", "b");
    air.medium.setLink("a", "b", { rssi: -110, snr: -4.25 }, { symmetric: false });
    air.medium.setLink("b", "a", { rssi: -97, snr: 3.5 }, { symmetric: false });
    air.runUntil(a!.port.transmit(packet(5), SF7_868));
    b!.port.transmit(packet(5), SF7_868);
    air.settle();
    assert.deepEqual([b!.heard[0]?.rssi, b!.heard[0]?.snr], [-110, -4.25]);
    assert.deepEqual([a!.heard[0]?.rssi, a!.heard[0]?.snr], [-97, 3.5]);
  });

  it("follows partitions, cuts and heals scheduled over time", () => {
    const air = createVirtualAir();
    const [a, b] = stations(air.medium, air.clock.now, "a", "b");
    air.medium.schedule(1_000, (m) => m.partition([["a"], ["b"]]));
    air.medium.schedule(2_000, (m) => m.heal());
    air.medium.schedule(3_000, (m) => m.cut("a", "b"));
    air.medium.schedule(4_000, (m) => m.restore("a", "b"));
    for (const at of [500, 1_500, 2_500, 3_500, 4_500]) air.scheduler.at(at, () => a!.port.transmit(packet(8, at / 500), SF7_868));
    air.settle();
    assert.deepEqual(b!.heard.map((h) => h.bytes[0]), [1, 5, 9]);
    assert.equal(air.medium.counters("b").lost["out-of-range"], 2);
  });

  it("builds line and star topologies: only neighbours hear each other", () => {
    const air = createVirtualAir(1, { topology: lineTopology(["a", "b", "c"]) });
    assert.ok(air.medium.link("a", "b") && air.medium.link("c", "b"));
    assert.equal(air.medium.link("a", "c"), undefined);
    air.medium.setTopology(starTopology("hub", ["x", "y"], { rssi: -120 }));
    assert.equal(air.medium.link("x", "hub")?.rssi, -120);
    assert.equal(air.medium.link("x", "y"), undefined);
    assert.equal(air.medium.link("a", "b"), undefined);
  });

  it("lets a tap capture every packet put on the air, heard or not", () => {
    const air = createVirtualAir(1, { defaults: { unlisted: "deaf" } });
    const [a, b] = stations(air.medium, air.clock.now, "a", "b");
    const tapped: TappedPacket[] = [];
    air.medium.tap((p) => tapped.push(p));
    a!.port.transmit(Uint8Array.of(1, 2, 3), SF7_868);
    air.scheduler.at(1_000, () => b!.port.transmit(Uint8Array.of(4), { ...SF7_868, sf: 12 }));
    air.settle();
    assert.equal(b!.heard.length + a!.heard.length, 0);
    assert.deepEqual(
      tapped.map((p) => [p.sender, p.atMs, [...p.bytes], p.settings.sf]),
      [["a", 0, [1, 2, 3], 7], ["b", 1_000, [4], 12]],
    );
  });

  it("reports carrier only for a transmission the station can hear, while it lasts", () => {
    const air = createVirtualAir(1, { topology: lineTopology(["a", "b", "c"]) });
    const [a, b, c] = stations(air.medium, air.clock.now, "a", "b", "c");
    const airtime = a!.port.transmit(packet(30), SF7_868);
    assert.deepEqual([a, b, c].map((s) => s!.port.channelBusy()), [false, true, false]);
    air.runUntil(airtime);
    assert.equal(b!.port.channelBusy(), false);
  });

  it("refuses misuse: oversize packets, a second packet while sending, double attach", () => {
    const air = createVirtualAir();
    const [a] = stations(air.medium, air.clock.now, "a");
    assert.throws(() => a!.port.transmit(packet(256), SF7_868), RangeError);
    a!.port.transmit(packet(255), SF7_868);
    assert.throws(() => a!.port.transmit(packet(1), SF7_868), AirPortMisuseError);
    assert.throws(() => air.medium.attach("a"), AirPortMisuseError);
  });

  it("runs an hour of traffic among five stations under the virtual clock", () => {
    const air = createVirtualAir(3);
    const ids = ["s0", "s1", "s2", "s3", "s4"];
    const all = stations(air.medium, air.clock.now, ...ids);
    const jitter = seededRandom(9);
    all.forEach((s, i) => {
      const beat = (at: number): void => {
        if (at > 3_600_000) return;
        air.scheduler.at(at, () => {
          s.port.transmit(packet(40 + i), SF7_868);
          beat(at + 5_000 + jitter() * 5_000);
        });
      };
      beat(jitter() * 5_000);
    });
    air.settle();
    const total = air.medium.counters();
    assert.ok(air.clock.now() > 3_590_000, `ended at ${air.clock.now()} ms`);
    assert.ok(total.packetsSent > 5 * 360, `sent ${total.packetsSent}`);
    assert.ok(total.delivered > 0 && total.lost.collision > 0, `collisions ${total.lost.collision}`);
    const lost = Object.values(total.lost).reduce((x, y) => x + y, 0);
    assert.equal(total.delivered + lost, 4 * total.packetsSent, "every copy is accounted for");
  });

  it("works on a scaled real clock too", async () => {
    const clock = scaledClock(1_000);
    const medium = createLoRaMedium({ clock, random: seededRandom(1) });
    const [a, b] = stations(medium, clock.now, "a", "b");
    const arrived = new Promise<void>((resolve) => b!.port.onPacket(() => resolve()));
    a!.port.transmit(packet(20), SF7_868);
    await arrived;
    assert.equal(medium.counters("b").delivered, 1);
  });
});
