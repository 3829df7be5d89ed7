import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKissFrame, encodeKissFrames } from "../src/radio/kiss.js";
import { configureFrames } from "../src/radio/rnode/settings.js";
import { createRig, hex, SETTINGS, toHex } from "./support/rnode-rig.js";

/** A raw host on a virtual device that has finished booting. */
async function booted() {
  const rig = createRig();
  const device = rig.device("a", { bootDelayMs: 500 });
  const host = await rig.raw(device);
  await rig.time.advance(600);
  host.frames.length = 0; // the reset notice
  return { rig, device, host };
}

const replies = (frames: { command: number; payload: Uint8Array }[]): string[] => frames.map((f) => toHex(encodeKissFrame(f.command, f.payload)));

describe("virtual RNode: the firmware's serial behaviour", () => {
  it("announces its boot with C0 55 F8 C0 and ignores input while booting", async () => {
    const rig = createRig();
    const device = rig.device("a", { bootDelayMs: 500 });
    const host = await rig.raw(device);
    host.write(hex("c0 08 73 c0"));
    await rig.time.advance(600);
    assert.deepEqual(replies(host.frames), ["c0 55 f8 c0"]);
  });

  it("answers a query only when it carries one dummy byte, once per payload byte", async () => {
    const { rig, host } = await booted();
    host.write(hex("c0 50 c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), []);
    host.write(hex("c0 50 00 c0 c0 48 00 00 c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), ["c0 50 01 56 c0", "c0 48 80 c0", "c0 48 80 c0"]);
  });

  it("keeps the radio locked until frequency, bandwidth, power and SF are set", async () => {
    const { rig, host, device } = await booted();
    host.write(hex("c0 06 01 c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), ["c0 06 00 c0", "c0 06 00 c0"]);
    host.frames.length = 0;
    host.write(encodeKissFrames(configureFrames({ ...SETTINGS, airtimeLimitShort: undefined, airtimeLimitLong: undefined })));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames.filter((f) => f.command === 0x06)), ["c0 06 01 c0", "c0 06 01 c0"]);
    assert.equal(device.settings.online, true);
  });

  it("clamps setters and echoes what it took; a running radio reports its real bandwidth and frequency", async () => {
    const { rig, host } = await booted();
    host.write(hex("c0 03 1e c0 04 03 c0 05 09 c0 04 0d c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), ["c0 03 11 c0", "c0 04 05 c0", "c0 05 08 c0", "c0 04 0c c0"]);
    host.write(encodeKissFrames(configureFrames(SETTINGS)));
    await rig.time.advance(10);
    host.frames.length = 0;
    host.write(hex("c0 02 00 01 86 a0 c0 01 33 be 27 a0 c0")); // 100 kHz and 868.1 MHz while on
    await rig.time.advance(10);
    // 125 kHz, and 868 099 975 Hz: whole steps of 32 MHz / 2^19
    assert.deepEqual(replies(host.frames.filter((f) => f.command <= 0x02)), ["c0 02 00 01 e8 48 c0", "c0 01 33 be 27 87 c0"]);
  });

  it("answers CMD_READY only when asked", async () => {
    const { rig, host } = await booted();
    await rig.time.advance(5_000);
    assert.deepEqual(replies(host.frames), []);
    host.write(hex("c0 0f 00 c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), ["c0 0f 01 c0"]);
  });

  it("drops frames above 508 bytes without a word, and sends 508 as two packets", async () => {
    const { rig, host, device } = await booted();
    host.write(encodeKissFrames(configureFrames(SETTINGS)));
    host.write(encodeKissFrame(0x00, new Uint8Array(509)));
    host.write(encodeKissFrame(0x00, new Uint8Array(508)));
    await rig.time.advance(3_000);
    assert.deepEqual(
      rig.air.log.sent.map((s) => s.packet.length),
      [255, 255],
    );
    assert.equal(device.stats.framesDroppedTooLong, 1);
    assert.ok(host.frames.every((f) => f.command !== 0x90), "no error frame");
  });

  it("holds queued packets while over its short-term airtime lock, then sends them", async () => {
    const { rig, host } = await booted();
    host.write(encodeKissFrames(configureFrames({ ...SETTINGS, airtimeLimitShort: 10, airtimeLimitLong: undefined })));
    for (let i = 0; i < 6; i++) host.write(encodeKissFrame(0x00, new Uint8Array(254).fill(i)));
    await rig.time.until(() => rig.air.log.sent.length === 6, 60_000);
    const sent = rig.air.log.sent;
    const gaps = sent.slice(1).map((s, i) => s.at - (sent[i]!.at + sent[i]!.ms));
    assert.ok(gaps.slice(0, 3).every((g) => g === 0), "back to back until the lock");
    assert.ok(gaps.slice(3).some((g) => g >= 1_000), "then waits for the short-term share to fall below 10 %");
  });

  it("after a silent reset says nothing, answers queries with its radio off and nothing set, sends no reports, and holds DATA unsent", async () => {
    const { rig, host, device } = await booted();
    host.write(encodeKissFrames(configureFrames(SETTINGS)));
    await rig.time.advance(1_500);
    assert.ok(host.frames.some((f) => f.command === 0x25), "channel reports while the radio is on");
    const boots = device.stats.boots;
    device.resetSilently();
    await rig.time.advance(600); // booted again
    host.frames.length = 0;
    host.write(encodeKissFrame(0x00, Uint8Array.of(1, 2, 3)));
    host.write(hex("c0 01 00 00 00 00 c0 02 00 00 00 00 c0 03 ff c0 04 ff c0 05 ff c0 06 ff c0"));
    await rig.time.advance(5_000);
    assert.deepEqual(replies(host.frames), ["c0 01 00 00 00 00 c0", "c0 02 00 00 00 00 c0", "c0 03 ff c0", "c0 04 00 c0", "c0 05 05 c0", "c0 06 00 c0"]);
    assert.equal(rig.air.log.sent.length, 0, "the DATA frame waits in the queue");
    assert.equal(device.stats.boots, boots + 1);
  });

  it("as an AVR board sends no channel, PHY or CSMA reports", async () => {
    const rig = createRig();
    const device = rig.device("a", { bootDelayMs: 500, platform: 0x90 });
    const host = await rig.raw(device);
    await rig.time.advance(600);
    host.write(encodeKissFrames(configureFrames(SETTINGS)));
    await rig.time.advance(5_000);
    assert.ok(host.frames.length > 0, "it answers the setters");
    assert.deepEqual(
      host.frames.filter((f) => (f.command >= 0x25 && f.command <= 0x28) || f.command === 0x55),
      [],
      "no reports, no reset notice",
    );
  });

  it("once hung takes no input and sends nothing until it is reset", async () => {
    const { rig, host, device } = await booted();
    device.hang();
    host.write(hex("c0 08 73 c0"));
    await rig.time.advance(2_000);
    assert.deepEqual(replies(host.frames), []);
    device.reset();
    await rig.time.advance(600);
    host.write(hex("c0 08 73 c0"));
    await rig.time.advance(10);
    assert.deepEqual(replies(host.frames), ["c0 55 f8 c0", "c0 08 46 c0"]);
  });

  it("is gone while unplugged: opening fails as a missing port", async () => {
    const { rig, host, device } = await booted();
    device.unplug();
    await rig.time.until(() => !host.isOpen);
    const again = rig.link(device);
    const err = await rig.refused(again);
    assert.equal(err.reason, "port-not-found");
  });
});
