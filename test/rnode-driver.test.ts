import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BindingInterface } from "@serialport/bindings-cpp";
import { DETECT_BURST } from "../src/radio/rnode/handshake.js";
import { GOODBYE, probeRNode, TX_MARGIN_MS } from "../src/radio/rnode/rnode-link.js";
import { createVirtualSerial } from "../src/radio/rnode/virtual-serial.js";
import { createRig, framesOf, newPath, SETTINGS, toHex } from "./support/rnode-rig.js";

/** How many times the detect burst appears in what the host wrote. */
function detectBursts(bytes: Uint8Array): number {
  return framesOf(bytes).filter((f) => f.command === 0x08).length;
}

describe("RNode driver: bringing the device up", () => {
  it("detects and configures with the exact bytes Reticulum sends, and reports what the device read back", async () => {
    const rig = createRig();
    const device = rig.device("a", { resetOnOpen: false });
    await rig.time.advance(2_000); // booted long before the host opens the port
    const link = rig.link(device);
    await rig.up(link);

    assert.equal(toHex(DETECT_BURST), "c0 08 73 c0 50 00 c0 48 00 c0 49 00 c0 47 00 c0");
    const configure = "c0 01 33 be 27 a0 c0 02 00 01 e8 48 c0 03 0e c0 04 07 c0 05 05 c0 0b 0c e4 c0 0c 00 96 c0 06 01 c0";
    assert.equal(toHex(device.hostBytes()), `${toHex(DETECT_BURST)} ${configure}`);

    const status = link.status();
    assert.equal(status.state, "up");
    assert.equal(status.kind, "rnode");
    assert.equal(status.target, device.path);
    assert.deepEqual(
      { ...status.details, channel: undefined, phy: undefined, csma: undefined },
      {
        firmware: "1.86",
        platform: "ESP32",
        mcu: "ESP32",
        board: "RNode v2.2",
        radio: { frequency: 868_100_000, bandwidth: 125_000, txPower: 14, sf: 7, cr: 5, airtimeLimitShort: 33, airtimeLimitLong: 1.5, radioOn: true },
        channel: undefined,
        phy: undefined,
        csma: undefined,
        battery: null,
        temperatureC: null,
        errors: {},
        txQueued: 0,
        txDropped: 0,
        txExpired: 0,
        reconnects: 0,
        resets: 0,
        silentResets: 0,
        healthChecks: 0,
        unanswered: 0,
      },
    );
    assert.equal(device.settings.online, true);
    assert.equal(device.settings.airtimeLimitLong, 1.5);
    await rig.time.run(link.stop());
  });

  it("keeps re-sending the detect burst to a slow-booting board until it answers", async () => {
    const rig = createRig();
    const { device, link } = await rig.station("a", { bootDelayMs: 5_500 }); // resets when the port opens
    assert.equal(link.status().state, "up");
    assert.ok(detectBursts(device.hostBytes()) >= 6, "the bursts sent while it booted went unanswered");
    await rig.time.run(link.stop());
  });

  it("refuses a TX power the device clamps, saying what it reported and what to set", async () => {
    const rig = createRig();
    const device = rig.device("a", { maxTxPower: 17 });
    const link = rig.link(device, { settings: { ...SETTINGS, txPower: 30 } });
    const err = await rig.refused(link);
    assert.equal(err.reason, "settings-mismatch");
    assert.match(err.message, new RegExp(device.path));
    assert.match(err.message, /tx_power: asked 30, the device reports 17/);
    assert.match(err.message, /set tx_power to 17 or less/);
    assert.equal(link.status().state, "down");
    assert.equal(link.status().reason, err.message);
  });

  it("refuses out-of-range settings before opening the port", async () => {
    const rig = createRig();
    const device = rig.device("a");
    const link = rig.link(device, { settings: { ...SETTINGS, sf: 13, bandwidth: 100_000, airtimeLimitLong: 120 } });
    const err = await rig.refused(link);
    assert.equal(err.reason, "invalid-settings");
    assert.match(err.message, /spreading_factor is 13, valid: 5\.\.12/);
    assert.match(err.message, /bandwidth is 100000, valid: one of 7800, 10400/);
    assert.match(err.message, /airtime_limit_long is 120, valid: 0\.\.100/);
    assert.equal(device.hostBytes().length, 0);
    assert.equal(device.stats.boots, 1, "the port was never opened (opening resets the board)");
  });

  it("refuses firmware older than 1.52 without configuring it", async () => {
    const rig = createRig();
    const device = rig.device("a", { firmware: [1, 40] });
    const err = await rig.refused(rig.link(device));
    assert.equal(err.reason, "firmware-too-old");
    assert.match(err.message, /firmware 1\.40; meshlogd needs 1\.52 or newer/);
    assert.match(err.message, /rnodeconf/);
    assert.ok(framesOf(device.hostBytes()).every((f) => [0x08, 0x50, 0x48, 0x49, 0x47].includes(f.command)), "only detect bursts were sent");
    assert.equal(device.settings.online, false);
  });

  it("gives up on a port that never answers with a not-an-RNode error after the detect timeout", async () => {
    const rig = createRig();
    const written: Uint8Array[] = [];
    const silent = createVirtualSerial(newPath(), { hostOpened: () => {}, fromHost: (b) => written.push(b) });
    const err = await rig.refused(rig.link(silent));
    assert.equal(err.reason, "not-an-rnode");
    assert.match(err.message, /No RNode answered on \/dev\/ttyVIRT\d+ within 15 s/);
    assert.match(err.message, /ls -l \/dev\/serial\/by-id/);
    assert.equal(written.length, 15, "one burst a second for 15 s");
    assert.ok(written.every((w) => toHex(w) === toHex(DETECT_BURST)));
  });

  it("says the port does not exist (start() may be tried again), or that the user lacks permission", async () => {
    const rig = createRig();
    const device = rig.device("a");
    device.unplug();
    const link = rig.link(device);
    const missing = await rig.refused(link);
    assert.equal(missing.reason, "port-not-found");
    assert.match(missing.message, /does not exist .*`ls -l \/dev\/serial\/by-id`/);
    device.replug();
    await rig.up(link);
    assert.equal(link.status().state, "up", "a later start() tries again");
    await rig.time.run(link.stop());

    const denied: BindingInterface = {
      list: async () => [],
      open: async (o) => Promise.reject(new Error(`Error: Permission denied, cannot open ${o.path}`)),
    };
    const err = await rig.refused(rig.link({ binding: denied, path: "/dev/ttyUSB0" }));
    assert.equal(err.reason, "port-permission-denied");
    assert.match(err.message, /No permission to open \/dev\/ttyUSB0: add the user .* dialout group/);
  });
});

describe("RNode driver: waiting for a device that is not plugged in at start", () => {
  it("starts down and reconnecting, holds frames, and comes up once the device is plugged in", async () => {
    const rig = createRig();
    const device = rig.device("a");
    device.unplug();
    const link = rig.link(device, { waitForDevice: true });
    await rig.up(link); // resolves: nothing to fix but plugging it in
    assert.equal(link.status().state, "down");
    assert.match(link.status().reason ?? "", /^Serial port \S+ does not exist \(is the RNode plugged in\?\): .*; reconnecting in [0-9.]+ s$/);
    link.send(Uint8Array.of(5));
    await rig.time.advance(10_000);
    assert.ok(Number(link.status().details?.reconnects) >= 2, "retried meanwhile");
    await rig.time.run(link.start()); // a second start() does not throw either
    device.replug();
    await rig.time.until(() => link.status().state === "up", 60_000);
    await rig.time.until(() => rig.air.log.sent.length === 1);
    assert.deepEqual([...rig.air.log.sent[0]!.packet.subarray(1)], [5], "the frame held meanwhile went out");
    await rig.time.run(link.stop());
  });

  it("still refuses at start what plugging in cannot mend: settings out of range, no permission, a device that is not an RNode", async () => {
    const rig = createRig();
    const device = rig.device("a");
    device.unplug();
    const invalid = await rig.refused(rig.link(device, { waitForDevice: true, settings: { ...SETTINGS, sf: 13 } }));
    assert.equal(invalid.reason, "invalid-settings");
    const denied: BindingInterface = { list: async () => [], open: async (o) => Promise.reject(new Error(`Error: Permission denied, cannot open ${o.path}`)) };
    const noPermission = await rig.refused(rig.link({ binding: denied, path: "/dev/ttyUSB0" }, { waitForDevice: true }));
    assert.equal(noPermission.reason, "port-permission-denied");
    const silent = createVirtualSerial(newPath(), { hostOpened: () => {}, fromHost: () => {} });
    const notAnRNode = await rig.refused(rig.link(silent, { waitForDevice: true }));
    assert.equal(notAnRNode.reason, "not-an-rnode");
  });

  it("names a device node with no device behind it (docker's copy of an unplugged RNode) as a missing device", async () => {
    const rig = createRig();
    const stale: BindingInterface = { list: async () => [], open: async (o) => Promise.reject(new Error(`Error: No such device, cannot open ${o.path}`)) };
    const err = await rig.refused(rig.link({ binding: stale, path: "/dev/rnode" }));
    assert.equal(err.reason, "port-not-found");
    assert.match(err.message, /^Serial port \/dev\/rnode has no device behind it \(is the RNode plugged in\?\)/);
  });
});

describe("RNode driver: sending, stopping, probing", () => {
  it("paces frames by their time on air instead of the firmware's flow control", async () => {
    const rig = createRig();
    const { link } = await rig.station("a");
    const sizes = [200, 10, 254];
    for (const n of sizes) link.send(new Uint8Array(n).fill(n & 0xff));
    await rig.time.until(() => rig.air.log.sent.length === 3);
    const sent = rig.air.log.sent;
    assert.deepEqual(
      sent.map((s) => s.packet.length),
      sizes.map((n) => n + 1),
      "one header byte each",
    );
    for (let i = 1; i < sent.length; i++) {
      const gap = sent[i]!.at - sent[i - 1]!.at;
      assert.ok(gap >= link.airtimeMs(sizes[i - 1]!) + TX_MARGIN_MS - 1e-6, `frame ${i} waited for the previous one's airtime`);
    }
    assert.equal(link.status().framesSent, 3);
    assert.equal(link.status().bytesSent, 464);
    await rig.time.run(link.stop());
  });

  it("queues a bounded number of frames while down and counts the overflow", async () => {
    const rig = createRig();
    const link = rig.link(rig.device("a"), { txQueueFrames: 4 });
    for (let i = 0; i < 6; i++) link.send(Uint8Array.of(i));
    assert.deepEqual([link.status().details?.txQueued, link.status().details?.txDropped], [4, 2]);
    assert.throws(() => link.send(new Uint8Array(255)), RangeError);
    assert.equal(link.mtu, 254);
  });

  it("stops with radio off, then host left, then closes; a second stop does nothing", async () => {
    const rig = createRig();
    const { device, link } = await rig.station("a");
    device.clearHostBytes();
    await rig.time.run(link.stop());
    assert.equal(toHex(device.hostBytes()), "c0 06 00 c0 0a ff c0");
    assert.equal(toHex(GOODBYE), "c0 06 00 c0 0a ff c0");
    assert.equal(device.settings.online, false);
    assert.equal(device.stats.hostLeft, 1);
    assert.equal(link.status().state, "stopped");
    await rig.time.run(link.stop());
    assert.equal(device.hostBytes().length, 7);
  });

  it("probes a device's identity and settings with queries only, changing nothing", async () => {
    const rig = createRig();
    const { device, link } = await rig.station("a", { resetOnOpen: false });
    await rig.time.run(link.stop()); // the port is free again and the board keeps its settings
    device.clearHostBytes();
    const before = device.settings;

    const result = await rig.time.run(probeRNode({ path: device.path, binding: device.binding, clock: rig.time.clock }));
    assert.ok(result.ok);
    assert.equal(result.device.firmware, "1.86");
    assert.equal(result.device.platform, "ESP32");
    assert.equal(result.device.board, "RNode v2.2");
    const { frequency = 0, ...rest } = result.device.radio;
    assert.ok(Math.abs(frequency - SETTINGS.frequency) <= 100, "the chip's frequency step, within ±100 Hz");
    assert.deepEqual(rest, { bandwidth: 125_000, txPower: 14, sf: 7, cr: 5, radioOn: false });
    const queries = "c0 01 00 00 00 00 c0 02 00 00 00 00 c0 03 ff c0 04 ff c0 05 ff c0 06 ff c0";
    assert.equal(toHex(device.hostBytes()), `${toHex(DETECT_BURST)} ${queries}`);
    assert.deepEqual(device.settings, before);
  });

  it("reports a probe of a missing port as a value", async () => {
    const rig = createRig();
    const device = rig.device("a");
    device.unplug();
    const result = await rig.time.run(probeRNode({ path: device.path, binding: device.binding, clock: rig.time.clock }));
    assert.equal(result.ok, false);
    assert.equal(result.ok ? "" : result.error.reason, "port-not-found");
  });
});
