import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Clock } from "../src/radio/clock.js";
import { encodeKissFrame, type KissFrame } from "../src/radio/kiss.js";
import { Command, Mcu, Platform, u32 } from "../src/radio/rnode/commands.js";
import { checkRadioHealth, describeHealth, HEALTH_CHECK_INTERVAL_MS, STATS_SILENCE_MS } from "../src/radio/rnode/radio-health.js";
import type { RNodePort } from "../src/radio/rnode/rnode-port.js";
import { QUERY_FRAMES } from "../src/radio/rnode/settings.js";
import { createRig, framesOf, type LogLine, SETTINGS, toHex } from "./support/rnode-rig.js";

/** Two virtual RNodes on one air, each with a link that is up. */
async function twoStations(options: Parameters<ReturnType<typeof createRig>["device"]>[1] = {}) {
  const rig = createRig();
  const { device: devA, link: linkA } = await rig.station("a", options);
  const { device: devB, link: linkB } = await rig.station("b");
  return { rig, devA, devB, linkA, linkB };
}

const downReasons = (link: { logs: LogLine[] }): string[] => link.logs.filter((l) => l.msg === "RNode link down").map((l) => String(l.fields.reason));
const detail = (link: { status(): { details?: Readonly<Record<string, unknown>> } }, key: string): unknown => link.status().details?.[key];
const bytesOf = (frames: { bytes: Uint8Array }[]): number[][] => frames.map((f) => [...f.bytes]);
/** A board's boot (DEFAULT_BOOT_MS) with room to spare. */
const BOOTED_MS = 1_500;

describe("RNode driver: a board that resets without a word", () => {
  it("notices by the silence of its channel reports, re-initialises it on the open port, and the frames it held go out", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    const sentBefore = rig.air.log.sent.length;
    const t0 = rig.time.clock.now();
    devA.resetSilently();
    await rig.time.advance(BOOTED_MS);
    linkA.send(Uint8Array.of(1)); // the device queues it with its radio off: nothing goes out, nothing is said
    await rig.time.advance(STATS_SILENCE_MS / 2);
    assert.equal(linkA.status().state, "up", "green while deaf and mute: nothing tells the link yet");
    assert.equal(rig.air.log.sent.length, sentBefore, "the frame did not go on the air");

    await rig.time.until(() => downReasons(linkA).length === 1, HEALTH_CHECK_INTERVAL_MS);
    assert.equal(downReasons(linkA)[0], "the RNode's radio was found off (it reset without announcing it); re-initialising");
    assert.ok(rig.time.clock.now() - t0 <= STATS_SILENCE_MS + BOOTED_MS, "noticed within the report silence, not at the next minute's check");
    linkA.send(Uint8Array.of(2));
    await rig.time.until(() => linkB.received.length === 2);
    assert.deepEqual(bytesOf(linkB.received), [[1], [2]]);
    assert.equal(linkA.status().state, "up");
    assert.deepEqual(
      ["resets", "silentResets", "unanswered", "reconnects"].map((k) => detail(linkA, k)),
      [1, 1, 0, 0],
      "counted as a reset found by the check; the port stayed open",
    );
    assert.equal(devA.settings.online, true);
    assert.equal(devA.settings.frequency > 0, true, "configured again");
  });

  it("notices an AVR board, which sends neither a reset notice nor channel reports, at the next periodic check", async () => {
    const { rig, devA, linkA, linkB } = await twoStations({ platform: Platform.AVR, mcu: Mcu.ATmega1284P });
    await rig.time.advance(5_000);
    assert.equal(detail(linkA, "channel"), null, "no channel reports from an AVR board");
    const t0 = rig.time.clock.now();
    devA.reset(); // AVR: no notice
    await rig.time.until(() => downReasons(linkA).length === 1, 2 * HEALTH_CHECK_INTERVAL_MS);
    const noticedAfter = rig.time.clock.now() - t0;
    assert.ok(noticedAfter > STATS_SILENCE_MS && noticedAfter <= HEALTH_CHECK_INTERVAL_MS, `noticed by the periodic check (after ${noticedAfter} ms)`);
    assert.match(downReasons(linkA)[0]!, /radio was found off/);
    await rig.time.until(() => linkA.status().state === "up");
    linkA.send(Uint8Array.of(7));
    await rig.time.until(() => linkB.received.length === 1);
    assert.deepEqual([detail(linkA, "resets"), detail(linkA, "silentResets")], [1, 1]);
  });

  it("leaves a healthy device alone: ten minutes of checks are queries on the serial line only, nothing on the air, no re-initialisation", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    devA.clearHostBytes();
    const boots = devA.stats.boots;
    for (let minute = 0; minute < 10; minute++) {
      linkA.send(Uint8Array.of(minute));
      await rig.time.advance(60_000);
    }
    assert.equal(linkB.received.length, 10);
    assert.equal(rig.air.log.sent.filter((s) => s.from === "a").length, 10, "only the ten frames went on the air");
    const checks = Number(detail(linkA, "healthChecks"));
    assert.ok(checks >= 9, `checked about once a minute (${checks})`);
    const queries = framesOf(devA.hostBytes()).filter((f) => f.command !== Command.DATA);
    const query = QUERY_FRAMES.map((f) => toHex(encodeKissFrame(f.command, f.payload)));
    assert.deepEqual(
      queries.map((f) => toHex(encodeKissFrame(f.command, f.payload))),
      Array.from({ length: checks }, () => query).flat(),
      "each check is the six queries, answered at once; no setter, no detect",
    );
    assert.deepEqual(downReasons(linkA), []);
    assert.deepEqual([detail(linkA, "resets"), detail(linkA, "unanswered"), devA.stats.boots], [0, 0, boots]);
  });
});

describe("RNode driver: a device that stops answering", () => {
  it("re-handshakes, then reopens the port (which resets the board), and carries on", async () => {
    const { rig, devA, linkA, linkB } = await twoStations();
    devA.hang();
    await rig.time.until(() => downReasons(linkA).length === 1, HEALTH_CHECK_INTERVAL_MS);
    assert.match(downReasons(linkA)[0]!, /^the RNode did not answer 2 status queries in a row \([0-9.]+ s each\); re-initialising$/);
    await rig.time.until(() => downReasons(linkA).length === 2);
    assert.match(downReasons(linkA)[1]!, /^The RNode on \S+ stopped answering \(nothing for 15 s\): it may be hung or short of power\. .*; reconnecting in [0-9.]+ s$/);
    await rig.time.until(() => linkA.status().state === "up");
    linkA.send(Uint8Array.of(9));
    await rig.time.until(() => linkB.received.length === 1);
    assert.deepEqual(
      ["unanswered", "reconnects", "resets"].map((k) => detail(linkA, k)),
      [1, 1, 0],
    );
  });

  it("stays down, saying it stopped answering, while a hung board does not reset on open; comes up once it is power-cycled", async () => {
    const { rig, devA, linkA } = await twoStations({ resetOnOpen: false });
    devA.hang();
    await rig.time.advance(5 * 60_000);
    const status = linkA.status();
    assert.equal(status.state, "down");
    assert.match(status.reason ?? "", /stopped answering .*check its cable and power supply; (reconnecting in [0-9.]+ s|trying again now)$/, "down, with the reason, between attempts and during them");
    assert.ok(Number(detail(linkA, "reconnects")) >= 3, "it keeps trying");
    assert.equal(linkA.logs.filter((l) => l.msg === "RNode link up").length, 1, "never up since");
    devA.reset();
    await rig.time.until(() => linkA.status().state === "up", 60_000);
  });
});

/** A port that answers each write with the next scripted set of frames, at once. */
function scriptedPort(answers: KissFrame[][]): RNodePort & { writes: number } {
  let pending: KissFrame[] = [];
  return {
    path: "/dev/ttySCRIPT",
    isOpen: true,
    writes: 0,
    write() {
      this.writes++;
      pending = answers.shift() ?? [];
    },
    async waitFor(consume) {
      return pending.some((f) => consume(f));
    },
    onFrame() {},
    onLost() {},
    async close() {},
  };
}

const STILL: Clock = { now: () => 0, at: () => () => {} };

/** The six answers to the queries. */
function answers(r: { frequency: number; bandwidth: number; txPower: number; sf: number; cr: number; on: boolean }): KissFrame[] {
  return [
    { command: Command.FREQUENCY, payload: u32(r.frequency) },
    { command: Command.BANDWIDTH, payload: u32(r.bandwidth) },
    { command: Command.TXPOWER, payload: Uint8Array.of(r.txPower) },
    { command: Command.SF, payload: Uint8Array.of(r.sf) },
    { command: Command.CR, payload: Uint8Array.of(r.cr) },
    { command: Command.RADIO_STATE, payload: Uint8Array.of(r.on ? 1 : 0) },
  ];
}

describe("RNode radio health verdicts", () => {
  const ours = { frequency: SETTINGS.frequency - 25, bandwidth: SETTINGS.bandwidth, txPower: SETTINGS.txPower, sf: SETTINGS.sf, cr: SETTINGS.cr, on: true };
  const check = (port: RNodePort) => checkRadioHealth(port, STILL, SETTINGS, 1_000);

  it("finds our settings (frequency within the chip's step) healthy with one query", async () => {
    const port = scriptedPort([answers(ours)]);
    assert.deepEqual(await check(port), { kind: "healthy" });
    assert.equal(port.writes, 1);
  });

  it("finds a board that booted into its stored TNC settings, radio on, as settings lost", async () => {
    const tnc = { ...ours, frequency: 433_775_000, sf: 9 };
    const health = await check(scriptedPort([answers(tnc), answers(tnc)]));
    assert.equal(health.kind, "settings-lost");
    assert.ok(health.kind === "settings-lost");
    assert.equal(
      describeHealth(health),
      `the RNode reports other settings (frequency 433775000 instead of ${SETTINGS.frequency}, spreading_factor 9 instead of 7): it reset without announcing it`,
    );
  });

  it("asks again before believing one bad answer (noise on the line)", async () => {
    const port = scriptedPort([answers({ ...ours, on: false }), answers(ours)]);
    assert.deepEqual(await check(port), { kind: "healthy" });
    assert.equal(port.writes, 2);
  });

  it("reports a radio off, and silence, after two answers alike", async () => {
    const off = { frequency: 0, bandwidth: 0, txPower: 0xff, sf: 0, cr: 5, on: false };
    assert.deepEqual(await check(scriptedPort([answers(off), answers(off)])), { kind: "radio-off" });
    const silent = scriptedPort([]);
    assert.deepEqual(await check(silent), { kind: "no-answer", waitedMs: 1_000 });
    assert.equal(silent.writes, 2);
  });
});
