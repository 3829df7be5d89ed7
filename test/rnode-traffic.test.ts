import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKissFrame, encodeKissFrames } from "../src/radio/kiss.js";
import { configureFrames } from "../src/radio/rnode/settings.js";
import { createRig, framesOf, hex, type LogLine, SETTINGS } from "./support/rnode-rig.js";

/** Two virtual RNodes on one air, each with a link that is up. */
async function twoStations() {
  const rig = createRig();
  const { device: devA, link: linkA } = await rig.station("a");
  const { device: devB, link: linkB } = await rig.station("b");
  return { rig, devA, devB, linkA, linkB };
}

/** Why the link went down, each time it did, from its log. */
const downReasons = (link: { logs: LogLine[] }): string[] => link.logs.filter((l) => l.msg === "RNode link down").map((l) => String(l.fields.reason));

const bytesOf = (frames: { bytes: Uint8Array }[]): number[][] => frames.map((f) => [...f.bytes]);

describe("RNode driver: receiving", () => {
  it("delivers a frame from the other station with the RSSI and SNR that preceded it", async () => {
    const { rig, linkA, linkB } = await twoStations();
    linkA.send(Uint8Array.of(1, 2, 0xc0, 0xdb, 3));
    await rig.time.until(() => linkB.received.length === 1);
    assert.deepEqual(linkB.received[0], { bytes: Uint8Array.of(1, 2, 0xc0, 0xdb, 3), rssi: -92, snr: 7.25 });
    assert.equal(linkB.status().framesReceived, 1);
    assert.equal(linkB.status().bytesReceived, 5);
    assert.equal(rig.air.log.sent[0]!.packet.length, 6, "one header byte on the air");
  });

  it("attaches a signal report to one frame only", async () => {
    const rig = createRig();
    const { device: dev, link } = await rig.station("a");
    dev.injectSerial(hex("c0 23 5d c0 24 f6 c0 00 aa c0 c0 00 bb c0 c0 24 08 c0 c0 77 01 c0 c0 00 cc c0"));
    await rig.time.until(() => link.received.length === 3);
    assert.deepEqual(link.received, [
      { bytes: Uint8Array.of(0xaa), rssi: 93 - 157, snr: -2.5 },
      { bytes: Uint8Array.of(0xbb) },
      { bytes: Uint8Array.of(0xcc), snr: 2 },
    ]);
    assert.equal(link.status().dropped["kiss-unknown-command"], 1, "the 0x77 frame");
  });

  it("reassembles a 300-byte frame the other device split into two LoRa packets", async () => {
    const rig = createRig();
    const sender = rig.device("a");
    const { link: linkB } = await rig.station("b");
    const host = await rig.raw(sender); // a host that may hand the device frames above 254 bytes
    await rig.time.advance(1_500); // the board resets on open
    host.write(encodeKissFrames(configureFrames(SETTINGS)));
    const frame = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    host.write(encodeKissFrame(0x00, frame));
    await rig.time.until(() => linkB.received.length === 1);

    assert.deepEqual([...linkB.received[0]!.bytes], [...frame]);
    const packets = rig.air.log.sent.filter((s) => s.from === "a").map((s) => s.packet);
    assert.deepEqual(
      packets.map((p) => p.length),
      [255, 47],
    );
    assert.equal(packets[0]![0], packets[1]![0], "both halves carry the same header");
    assert.equal(packets[0]![0]! & 0x0f, 0x01, "FLAG_SPLIT");
    await rig.time.run(host.close());
  });
});

describe("RNode driver: device faults", () => {
  it("goes down when the RNode is unplugged, and after replug delivers everything queued meanwhile", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    devA.unplug();
    await rig.time.until(() => linkA.status().state === "down");
    assert.match(linkA.status().reason ?? "", /went away .* reconnecting/);
    for (const n of [1, 2, 3]) linkA.send(Uint8Array.of(n));
    assert.equal(linkA.status().details?.txQueued, 3);

    await rig.time.advance(5_000); // reconnect attempts fail meanwhile: the port is gone
    assert.match(linkA.status().reason ?? "", /does not exist/);
    devA.replug();
    await rig.time.until(() => linkA.status().state === "up", 60_000);
    await rig.time.until(() => linkB.received.length === 3);
    assert.deepEqual(bytesOf(linkB.received), [[1], [2], [3]]);
    assert.ok(Number(linkA.status().details?.reconnects) >= 2);
    assert.equal(devA.settings.online, true, "configured again after the replug");
  });

  it("after a long outage drops the frames that waited too long instead of sending them late, and sends the fresh ones", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    devA.unplug();
    await rig.time.until(() => linkA.status().state === "down");
    linkA.send(Uint8Array.of(1)); // its airtime was booked against the duty cycle now, by whoever handed it over
    linkA.send(Uint8Array.of(2));
    await rig.time.advance(2 * 3_600_000);
    linkA.send(Uint8Array.of(3));
    devA.replug();
    await rig.time.until(() => linkB.received.length === 1, 60_000);
    await rig.time.advance(5_000);
    assert.deepEqual(bytesOf(linkB.received), [[3]]);
    assert.equal(linkA.status().details?.txExpired, 2);
  });

  it("re-handshakes after the device announces a reset, then carries on", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    devA.clearHostBytes();
    devA.reset();
    await rig.time.until(() => downReasons(linkA).length === 1);
    assert.match(downReasons(linkA)[0]!, /reset itself; re-initialising/);
    linkA.send(Uint8Array.of(42)); // held until the device is configured again
    await rig.time.until(() => linkA.status().state === "up");
    assert.ok(framesOf(devA.hostBytes()).some((f) => f.command === 0x08), "the detect burst was sent again");
    await rig.time.until(() => linkB.received.length === 1);
    assert.deepEqual(bytesOf(linkB.received), [[42]]);
    assert.equal(linkA.status().details?.reconnects, 0, "the port stayed open");
    assert.equal(linkA.status().details?.resets, 1, "the reset is counted");
  });

  it("re-initialises on ERROR_INITRADIO but stays up on ERROR_MEMORY_LOW, counting both", async () => {
    const rig = createRig();
    const { device: dev, link } = await rig.station("a");
    dev.clearHostBytes();
    dev.injectSerial(hex("c0 90 05 c0"));
    await rig.time.advance(100);
    assert.equal(link.status().state, "up");
    assert.equal(dev.hostBytes().length, 0);
    dev.injectSerial(hex("c0 90 01 c0"));
    await rig.time.until(() => downReasons(link).length === 1);
    assert.match(downReasons(link)[0]!, /ERROR_INITRADIO; re-initialising/);
    await rig.time.until(() => link.status().state === "up");
    assert.ok(framesOf(dev.hostBytes()).some((f) => f.command === 0x06), "configured again");
    assert.deepEqual(link.status().details?.errors, { MEMORY_LOW: 1, INITRADIO: 1 });
  });
});

describe("RNode driver: device reports", () => {
  it("parses channel, PHY, battery and temperature reports into the status", async () => {
    const rig = createRig();
    const { device: dev, link } = await rig.station("a");
    link.send(new Uint8Array(200));
    await rig.time.advance(2_500);
    const details = link.status().details ?? {};
    const channel = details.channel as { airtimeShortPct: number; noiseFloor: number; interference: number | null; channelLoadShortPct: number };
    assert.ok(channel.airtimeShortPct > 0, "our own frame shows in the short-term airtime");
    assert.ok(channel.channelLoadShortPct >= channel.airtimeShortPct);
    assert.equal(channel.noiseFloor, -110);
    assert.equal(channel.interference, null);
    assert.deepEqual(details.phy, { symbolTimeUs: 1024, symbolRateBaud: 977, preambleSymbols: 24, preambleMs: 25, csmaSlotMs: 24, difsMs: 48 });

    dev.injectSerial(hex("c0 27 02 55 c0 c0 29 9b c0 c0 28 01 0f 1e c0"));
    await rig.time.advance(10);
    const after = link.status().details ?? {};
    assert.deepEqual(after.battery, { state: "charging", percent: 85 });
    assert.equal(after.temperatureC, 35);
    assert.deepEqual(after.csma, { band: 1, min: 15, max: 30 });
  });

  it("counts malformed serial input as dropped", async () => {
    const rig = createRig();
    const { device: dev, link } = await rig.station("a");
    dev.injectSerial(hex("c0 00 01 db 07 c0"));
    await rig.time.advance(10);
    assert.equal(link.status().dropped["kiss-bad-escape"], 1);
    assert.equal(link.received.length, 0);
  });
});
