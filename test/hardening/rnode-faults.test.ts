/**
 * RNode faults at the site level: three full sites (SQLite files, bridges to
 * two KoboToolbox doubles and an ODK Central double, the real RNode driver
 * on virtual RNodes over one simulated LoRa air, radio time 8x real) run and
 * converge while people keep working at the servers; then, one after the
 * other:
 *
 * 1. one site's RNode is unplugged (the port fails as on a USB disconnect,
 *    and cannot be opened again) for a while, then plugged back in;
 * 2. RNodes reset in the middle of a DATA frame on the serial line, both
 *    ways (the host gets half a received packet; the device takes half the
 *    host's frame), and announce the reset once booted;
 * 3. garbage reaches the host on the serial line between real frames:
 *    broken escapes, oversize frames, DATA frames of random bytes, random
 *    bytes framed as frames, and raw noise;
 * 4. an RNode resets without announcing it (an AVR board never does; an
 *    ESP32's notice can be lost on the line) and sits with its radio off.
 *
 * And apart, with three sites of its own: a site started while its RNode is
 * not plugged in starts anyway, serves its status with the radio down and
 * what to do, and converges once the RNode is plugged in.
 *
 * Checked: what the status (/api/status, the banner's attention list, the
 * metrics) says while it lasts and after; the counters that say what
 * happened; and that afterwards every server holds every record once with
 * the same answers, no edit lost, every store the same events. The driver's
 * own tests (test/rnode-traffic.test.ts) cover the same faults per link.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { seededRandom } from "../../src/engine/random.js";
import { createApi } from "../../src/http/api.js";
import { silentLogger } from "../../src/log/logger.js";
import { encodeKissFrame, FEND, FESC, TFEND, TFESC } from "../../src/radio/kiss.js";
import { Command } from "../../src/radio/rnode/commands.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { siteSummary, type LinkSummary } from "../../src/service/site-status.js";
import { createSite } from "../../src/service/site.js";
import { TOKEN } from "../support/bridge-sites.js";
import { ledgered } from "./support/ledgered.js";
import { createPeople, lostEdits, pollUntil, startRadioWorld, waitConverged, type People, type RadioSite, type RadioWorld } from "./support/rnode-sites.js";

const SEED = 6_2026;
/** Real time allowed for one convergence; it takes a few seconds. */
const CONVERGE_MS = 60_000;
/** Real time allowed for a link to go down or come back, or a device to reset. */
const EVENT_MS = 30_000;
const AREA = "radio faults";
/** kobo-a's board boots as slowly as an ESP32-S3 may (under the driver's 15 s detect timeout), so its handshakes can be watched. */
const SLOW_BOOT_MS = 8_000;
const KNOWN = new Set<number>(Object.values(Command));
/** Bursts of raw noise sent to kobo-c. */
const NOISE_BURSTS = 30;
/** The reason a link logs when its health check finds the radio of a board that reset without a word. */
const SILENT_RESET = "the RNode's radio was found off (it reset without announcing it); re-initialising";
/** A serial port no machine has. */
const ABSENT_PORT = "/dev/ttyMESHLOGD-ABSENT";
/** The driver's own drop reasons. */
const KISS_REASONS = ["kiss-bad-escape", "kiss-oversize", "kiss-unknown-command", "kiss-partial-timeout"];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const detail = (l: LinkSummary, key: string): number => Number(l.settings?.[key] ?? 0);
const dropped = (l: LinkSummary, reason: string): number => l.dropped[reason] ?? 0;
/** Frames the air layer dropped, other than our own frames re-sent by others (which real traffic makes). */
const airDrops = (l: LinkSummary): number => Object.entries(l.dropped).reduce((n, [k, v]) => (k.startsWith("air.") && k !== "air.own-echo" ? n + v : n), 0);
const downReasons = (s: RadioSite): string[] => s.linkLogs.filter((l) => l.msg === "RNode link down").map((l) => String(l.fields.reason));

describe("hardening: RNode unplugged, reset mid-frame, garbage on the serial line, at full sites", () => {
  let w: RadioWorld;
  let people: People;
  const everyone = (): RadioSite[] => [...w.sites];

  before(async () => {
    w = await startRadioWorld(SEED, { "kobo-a": SLOW_BOOT_MS });
    people = createPeople(SEED);
    for (const s of w.sites) people.create(s);
    await waitConverged(w, people.created, CONVERGE_MS);
  });
  after(async () => {
    await w?.close();
  });

  /** People act `n` times at servers drawn from `among`, polling between, so their changes go out while the fault lasts. */
  const work = async (n: number, among: readonly RadioSite[]) => {
    for (let k = 0; k < n; k++) {
      people.act(among);
      await w.pollAll();
      await pause(100);
    }
  };
  const settled = async () => {
    await waitConverged(w, people.created, CONVERGE_MS);
    assert.deepEqual(lostEdits(w, people), [], "every edit made once is at every server");
    for (const s of w.sites) {
      assert.equal(s.link().state, "up", `${s.name}'s link is up`);
      assert.deepEqual(siteSummary(s.site).attention, [], `${s.name} needs no attention`);
    }
  };

  it("an RNode unplugged while people keep working: the status says the radio is down and what to check; after replug everything converges", () =>
    ledgered({ area: AREA, tried: "kobo-a's RNode unplugged (port fails with ENXIO, then does not exist) while people made 8 changes at kobo-a's and odk-b's servers; replugged once odk-b's changes had reached kobo-c; the board boots in 8 s" }, async () => {
      const [a, b, c] = [w.site("kobo-a"), w.site("odk-b"), w.site("kobo-c")];
      const reconnects0 = detail(a.link(), "reconnects");
      const boots0 = a.device.stats.boots;
      a.device.unplug();
      const logged0 = downReasons(a).length;
      await pollUntil(w, "kobo-a's link to go down", () => a.link().state === "down", EVENT_MS);
      assert.match(downReasons(a)[logged0] ?? "", /^the RNode on \S+ went away \(ENXIO: .*\); reconnecting in [0-9.]+ s$/);

      const before = new Set(people.created);
      await work(8, [a, b]);
      const fromB = [...people.created].filter((id) => !before.has(id) && b.records().records.has(id));
      assert.ok(fromB.length > 0, "people created records at odk-b meanwhile");
      await pollUntil(w, "odk-b's new records at kobo-c, and kobo-a's reconnects failing", () =>
        fromB.every((id) => c.records().records.has(id)) && /does not exist/.test(a.link().reason ?? "") && detail(a.link(), "reconnects") - reconnects0 >= 2, CONVERGE_MS);
      assert.ok(fromB.every((id) => !a.records().records.has(id)), "kobo-a, cut off, has none of them");

      const down = a.link();
      assert.equal(down.state, "down");
      assert.match(down.reason ?? "", new RegExp(`^Serial port ${down.target} does not exist \\(is the RNode plugged in\\?\\).*; reconnecting in [0-9.]+ s$`));
      const banner = siteSummary(a.site).attention;
      assert.equal(banner.length, 1, JSON.stringify(banner));
      assert.match(banner[0]!, new RegExp(`^The radio on ${down.target} is down: Serial port .* does not exist .*Check that the RNode on ${down.target} is plugged in and powered \\(links\\[0\\]\\.port\\); meshlogd reconnects by itself\\.$`));
      const api = createApi({ site: a.site, log: silentLogger });
      const status = (await request(api).get("/api/status").expect(200)).body as { links: LinkSummary[]; attention: string[]; server: { state: string } };
      assert.equal(status.links[0]?.state, "down");
      assert.deepEqual(status.attention, banner, "/api/status says the same");
      assert.equal(status.server.state, "ok", "the form server is fine; only the radio is out");
      assert.deepEqual((await request(api).get("/api/health").expect(200)).body.attention, banner);
      assert.match((await request(api).get("/metrics").expect(200)).text, /^meshlogd_link_up\{[^}]*kind="rnode"[^}]*\} 0$/m);
      for (const s of [b, c]) assert.deepEqual(siteSummary(s.site).attention, [], `${s.name}'s own radio is fine`);
      const queued = detail(down, "txQueued");
      const failedReconnects = detail(down, "reconnects") - reconnects0;

      a.device.replug(); // the board powers up and boots; once the link reopens the port it resets and boots again
      await pollUntil(w, "kobo-a's link to reopen the port and wait for the booting board", () => a.device.stats.boots >= boots0 + 2 && a.device.booting, EVENT_MS);
      const handshake = a.link();
      assert.equal(handshake.state, "starting", `while the board boots the link is starting: ${handshake.reason}`);
      assert.match(handshake.reason ?? "", /^the serial port is back; waiting for the RNode to answer$/);
      assert.deepEqual(siteSummary(a.site).attention, [], "no longer says to plug it in");
      await settled();
      const up = a.link();
      assert.ok(a.device.stats.boots > boots0, "the device booted again after the replug");
      assert.equal(detail(up, "resets"), 0, "an unplug is not counted as a reset");
      assert.match((await request(api).get("/metrics").expect(200)).text, /^meshlogd_link_up\{[^}]*kind="rnode"[^}]*\} 1$/m);
      return `while out: links[0] down "Serial port … does not exist (is the RNode plugged in?)…; reconnecting in … s", one attention line naming the port and "plugged in and powered" (same in /api/status, /api/health; meshlogd_link_up 0), ${failedReconnects} failed reconnects, ${queued} frames held; ` +
        `odk-b's ${fromB.length} new records reached kobo-c but not kobo-a; after replug, while the board booted: links[0] "starting" ("the serial port is back; waiting for the RNode to answer"), attention empty; then link up (${detail(up, "reconnects") - reconnects0} reconnects), attention empty, ${people.created.size} records at all 3 servers once, same answers, no edit lost, same events in every store`;
    }));

  it("RNodes that reset in the middle of a DATA frame on the serial line: the sites re-handshake and resume", () =>
    ledgered({ area: AREA, tried: "6 board resets mid-KISS-frame in 3 rounds (3 while the device wrote a received packet to the host, cut in half; 3 while the host wrote a frame to the device, cut in half), people making changes at all 3 servers meanwhile" }, async () => {
      const plan: [RadioSite, "to-host" | "from-host"][][] = [
        [[w.site("odk-b"), "to-host"], [w.site("kobo-c"), "from-host"]],
        [[w.site("kobo-a"), "to-host"], [w.site("odk-b"), "from-host"]],
        [[w.site("kobo-c"), "to-host"], [w.site("kobo-a"), "from-host"]],
      ];
      const at0 = new Map(w.sites.map((s) => [s.name, { link: s.link(), boots: s.device.stats.boots, logged: downReasons(s).length }]));
      for (const round of plan) {
        const boots = round.map(([s]) => s.device.stats.boots);
        for (const [s, direction] of round) s.device.resetMidFrame(direction);
        await work(3, everyone());
        await pollUntil(w, "both devices to reset mid-frame and their links to be up again", () =>
          round.every(([s], i) => s.device.stats.boots > boots[i]! && s.link().state === "up" && !s.device.booting), EVENT_MS);
      }
      await settled();
      for (const s of w.sites) {
        const was = at0.get(s.name)!;
        const now = s.link();
        const cutToHost = plan.flat().filter(([x, d]) => x === s && d === "to-host").length;
        assert.equal(s.device.stats.boots - was.boots, 2, `${s.name}'s device reset twice`);
        assert.equal(detail(now, "resets") - detail(was.link, "resets"), 2, `${s.name}'s link counted both resets`);
        assert.equal(detail(now, "reconnects"), detail(was.link, "reconnects"), `${s.name}: the port stayed open, no reconnect`);
        assert.equal(dropped(now, "kiss-partial-timeout") - dropped(was.link, "kiss-partial-timeout"), cutToHost, `${s.name}: the half frame it got was dropped and counted`);
        assert.deepEqual(downReasons(s).slice(was.logged), ["the RNode reset itself; re-initialising", "the RNode reset itself; re-initialising"]);
        assert.equal(s.device.settings.online, true, `${s.name}'s radio configured again`);
      }
      return "each site: links[0] counted 2 resets (details.resets) with 0 reconnects (port kept open), the half frame a device wrote counted as dropped kiss-partial-timeout (1 per site), the log said \"the RNode reset itself; re-initialising\" each time; " +
        `afterwards links up, attention empty, ${people.created.size} records at all 3 servers once, same answers, no edit lost, same events in every store`;
    }));

  it("garbage on the serial line between real frames: dropped and counted by reason, the sites keep converging", () => {
    const random = seededRandom(SEED + 3);
    const g = garbage(random);
    const noise = Array.from({ length: NOISE_BURSTS }, () => rawNoise(random));
    const tried = `injected between real frames, while people made changes: at kobo-a ${g.expected.badEscape} broken escapes, ${g.expected.oversize} frames over 1024 bytes, ` +
      `${g.randomData} DATA frames of random bytes, ${g.randomFrames} frames of random bytes (FEND-delimited); at kobo-c ${NOISE_BURSTS} bursts of raw noise (1–300 random bytes)`;
    return ledgered({ area: AREA, tried }, async () => {
      const [a, c] = [w.site("kobo-a"), w.site("kobo-c")];
      const atA = a.link();
      const atC = c.link();
      const pieces = shuffled([...g.pieces.map((p) => ({ to: a, bytes: p })), ...noise.map((p) => ({ to: c, bytes: p }))], random);
      for (const [k, p] of pieces.entries()) {
        p.to.device.injectSerial(p.bytes);
        if (k % 12 === 0) people.act(everyone());
        if (k % 4 === 0) await w.pollAll();
        await pause(10 + random() * 50);
      }
      await settled();
      const after = a.link();
      const grew = (reason: string) => dropped(after, reason) - dropped(atA, reason);
      assert.equal(grew("kiss-bad-escape"), g.expected.badEscape, "broken escapes");
      assert.equal(grew("kiss-oversize"), g.expected.oversize, "oversize frames");
      assert.equal(grew("kiss-unknown-command"), g.expected.unknownCommand, "frames of no RNode command");
      assert.equal(airDrops(after) - airDrops(atA), g.expected.airDrop, "DATA frames of random bytes, dropped by the air layer");
      assert.equal(detail(after, "reconnects"), detail(atA, "reconnects"), "kobo-a's port never closed");
      const status = (await request(createApi({ site: a.site, log: silentLogger })).get("/api/status").expect(200)).body as { links: LinkSummary[] };
      for (const reason of KISS_REASONS) assert.equal(status.links[0]?.dropped[reason], after.dropped[reason], `/api/status shows ${reason}`);
      const afterC = c.link();
      const cCounted = KISS_REASONS.reduce((n, r) => n + dropped(afterC, r) - dropped(atC, r), airDrops(afterC) - airDrops(atC));
      assert.ok(cCounted > 0, "kobo-c counted some of the raw noise");
      assert.ok(w.sites.every((s) => s.site.running()));
      return `kobo-a's links[0].dropped grew by exactly what was sent: kiss-bad-escape +${g.expected.badEscape}, kiss-oversize +${g.expected.oversize}, kiss-unknown-command +${g.expected.unknownCommand}, air.* (other than own-echo) +${g.expected.airDrop}; ` +
        `kobo-c counted ${cCounted} frames of its raw noise; no reconnect, nothing thrown; ${people.created.size} records at all 3 servers once, same answers, no edit lost, attention empty`;
    });
  });

  it("an RNode that resets without announcing it: the site notices its radio is off, re-initialises it and converges", () =>
    ledgered({ area: AREA, tried: "odk-b's board reset with no reset notice (as an AVR board, or an ESP32 whose notice was lost), coming back with its radio off and nothing set, while people made 6 changes at all 3 servers" }, async () => {
      const b = w.site("odk-b");
      const was = b.link();
      const boots = b.device.stats.boots;
      const logged = downReasons(b).length;
      b.device.resetSilently();
      await work(6, everyone());
      await pollUntil(w, "odk-b's link to find the radio off and bring it up again", () =>
        detail(b.link(), "silentResets") > detail(was, "silentResets") && b.link().state === "up", EVENT_MS);
      await settled();
      const now = b.link();
      assert.equal(b.device.stats.boots - boots, 1, "the device reset once");
      assert.deepEqual(downReasons(b).slice(logged), [SILENT_RESET]);
      assert.deepEqual(
        ["resets", "silentResets", "unanswered", "reconnects"].map((k) => detail(now, k) - detail(was, k)),
        [1, 1, 0, 0],
        "one reset, found by the health check, on the open port",
      );
      assert.equal(b.device.settings.online, true, "its radio configured again");
      const status = (await request(createApi({ site: b.site, log: silentLogger })).get("/api/status").expect(200)).body as { links: LinkSummary[] };
      assert.equal(detail(status.links[0]!, "silentResets"), detail(now, "silentResets"), "/api/status shows it");
      for (const s of [w.site("kobo-a"), w.site("kobo-c")]) assert.equal(downReasons(s).filter((r) => r === SILENT_RESET).length, 0, `${s.name}'s healthy radio was left alone`);
      return `links[0] logged "${SILENT_RESET}" once, details.resets +1 and silentResets +1 (in /api/status too), no reconnect, unanswered +0, the other sites' radios left alone (health checks: ` +
        `${w.sites.map((s) => `${s.name} ${detail(s.link(), "healthChecks")}`).join(", ")}); afterwards links up, attention empty, ${people.created.size} records at all 3 servers once, same answers, no edit lost, same events in every store`;
    }));
});

describe("hardening: a site started while its RNode is not plugged in", () => {
  let w: RadioWorld;
  let people: People;

  before(async () => {
    w = await startRadioWorld(SEED + 1, {}, ["kobo-c"]);
    people = createPeople(SEED + 1);
  });
  after(async () => {
    await w?.close();
  });

  it("the site starts, its status says the radio is down and to plug it in; plugged in, it converges", () =>
    ledgered({ area: AREA, tried: "kobo-c started with its RNode unplugged (the port does not exist), people made 6 changes at all 3 servers, then the RNode was plugged in" }, async () => {
      const [a, b, c] = [w.site("kobo-a"), w.site("odk-b"), w.site("kobo-c")];
      assert.ok(c.site.running(), "kobo-c started");
      for (const s of w.sites) people.create(s);
      for (let k = 0; k < 6; k++) people.act(w.sites);
      const fromA = [...people.created].filter((id) => a.records().records.has(id));
      await pollUntil(w, "kobo-a's records at odk-b, and kobo-c's link retrying", () =>
        fromA.every((id) => b.records().records.has(id)) && detail(c.link(), "reconnects") >= 2, CONVERGE_MS);
      assert.ok(fromA.every((id) => !c.records().records.has(id)), "kobo-c, without its radio, has none of kobo-a's records");

      const api = createApi({ site: c.site, log: silentLogger });
      const status = (await request(api).get("/api/status").expect(200)).body as { links: LinkSummary[]; attention: string[]; server: { state: string } };
      const down = status.links[0]!;
      assert.equal(down.state, "down");
      assert.match(down.reason ?? "", new RegExp(`^Serial port ${down.target} does not exist \\(is the RNode plugged in\\?\\).*; reconnecting in [0-9.]+ s$`));
      assert.equal(status.attention.length, 1, JSON.stringify(status.attention));
      assert.match(status.attention[0]!, new RegExp(`^The radio on ${down.target} is down: Serial port .* does not exist .*Check that the RNode on ${down.target} is plugged in and powered \\(links\\[0\\]\\.port\\); meshlogd reconnects by itself\\.$`));
      assert.equal(status.server.state, "ok", "the bridge works meanwhile");
      assert.deepEqual((await request(api).get("/api/health").expect(200)).body.attention, status.attention);
      assert.match((await request(api).get("/metrics").expect(200)).text, /^meshlogd_link_up\{[^}]*kind="rnode"[^}]*\} 0$/m);

      c.device.replug();
      await waitConverged(w, people.created, CONVERGE_MS);
      assert.deepEqual(lostEdits(w, people), [], "every edit made once is at every server");
      for (const s of w.sites) {
        assert.equal(s.link().state, "up", `${s.name}'s link is up`);
        assert.deepEqual(siteSummary(s.site).attention, [], `${s.name} needs no attention`);
      }
      return `kobo-c started (running, bridge ok) with links[0] down "Serial port … does not exist (is the RNode plugged in?)…; reconnecting in … s", one attention line "…plugged in and powered…" (same in /api/health; meshlogd_link_up 0), ` +
        `${detail(down, "reconnects")} reconnects while out; after the plug-in: links up, attention empty, ${people.created.size} records at all 3 servers once, same answers, no edit lost, same events in every store`;
    }));

  it("with meshlogd's own link factory and the platform's serial binding, a port that does not exist does not stop the site either", () =>
    ledgered({ area: AREA, tried: `a site whose links[0] is an RNode on ${ABSENT_PORT} (no such file), built by meshlogd's own link factory on the real serial binding, its form server not running either` }, async () => {
      const site = createSite({
        config: parseSiteConfig({
          site: { name: "absent" },
          network: { name: "rnode-faults", members: [{ name: "other", key: generateSigner().signer.author }] },
          links: [{ kind: "rnode", port: ABSENT_PORT, frequency: 869_525_000, spreading_factor: 7, region: "eu-869.4-869.65" }],
          server: { kind: "kobo", url: "http://127.0.0.1:9", token: TOKEN },
          mappings: [{ type: "household", source: { kobo: { asset: "aAbsentKobo" } } }],
        }),
        signer: generateSigner().signer, dataDir: ":memory:", log: silentLogger, manualPolls: true,
      });
      try {
        await site.start();
        assert.ok(site.running(), "started");
        const status = (await request(createApi({ site, log: silentLogger })).get("/api/status").expect(200)).body as { links: LinkSummary[]; attention: string[] };
        assert.equal(status.links[0]?.state, "down");
        assert.match(status.links[0]?.reason ?? "", new RegExp(`^Serial port ${ABSENT_PORT} does not exist \\(is the RNode plugged in\\?\\)`));
        assert.ok(status.attention.some((l) => l.startsWith(`The radio on ${ABSENT_PORT} is down`)), JSON.stringify(status.attention));
        return `start() resolved, /api/status 200 with links[0] down "Serial port ${ABSENT_PORT} does not exist (is the RNode plugged in?) …" and the radio named in attention (${status.attention.length} lines, the server's too)`;
      } finally {
        await site.stop();
      }
    }));
});

/** What the structured garbage is expected to add to the counters. */
interface Garbage {
  readonly pieces: Uint8Array[];
  readonly randomData: number;
  readonly randomFrames: number;
  readonly expected: { badEscape: number; oversize: number; unknownCommand: number; airDrop: number };
}

/** `n` random bytes that are neither FEND nor FESC, so they stay inside one frame and escape nothing. */
function plainBytes(random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => {
    const b = Math.floor(random() * 254);
    return b >= FESC ? b + 2 : b === FEND ? FEND - 1 : b; // skips 0xC0 and 0xDB
  });
}

/**
 * Garbage whose fate is known: 8 broken escapes, 4 frames over the decoder's
 * bound, 16 DATA frames of random bytes (no network's frame), and 16 frames
 * of random bytes with a random command byte (mostly none an RNode has).
 */
function garbage(random: () => number): Garbage {
  const pieces: Uint8Array[] = [];
  const expected = { badEscape: 0, oversize: 0, unknownCommand: 0, airDrop: 0 };
  const len = (min: number, max: number) => min + Math.floor(random() * (max - min));
  for (let k = 0; k < 8; k++) {
    const wrong = [0x00, 0x07, 0x41, 0xdb, 0xfe][k % 5]!; // anything but TFEND / TFESC after FESC
    assert.ok(wrong !== TFEND && wrong !== TFESC);
    pieces.push(Uint8Array.from([FEND, Command.DATA, ...plainBytes(random, len(1, 40)), FESC, wrong, ...plainBytes(random, len(0, 40)), FEND]));
    expected.badEscape++;
  }
  for (let k = 0; k < 4; k++) {
    pieces.push(Uint8Array.from([FEND, Command.DATA, ...plainBytes(random, len(1025, 1400)), FEND]));
    expected.oversize++;
  }
  const before = pieces.length;
  for (let k = 0; k < 16; k++) {
    pieces.push(encodeKissFrame(Command.DATA, Uint8Array.from({ length: len(1, 254) }, () => Math.floor(random() * 256))));
    expected.airDrop++;
  }
  for (let k = 0; k < 16; k++) {
    const bytes = plainBytes(random, len(2, 120));
    const command = bytes[0]!;
    // A known command's frame is read as one (a stray RSSI, battery report…); of those, DATA reaches the air layer.
    if (command === Command.DATA) expected.airDrop++;
    else if (!KNOWN.has(command)) expected.unknownCommand++;
    else if (!harmless(command, bytes[1]!)) continue; // one that would reset the link: left out to keep the counts exact
    pieces.push(Uint8Array.from([FEND, ...bytes, FEND]));
  }
  return { pieces, expected, randomData: 16, randomFrames: pieces.length - before - 16 };
}

/** Frames of known commands that do not make the link re-initialise (a reset notice, a fatal error code). */
function harmless(command: number, first: number): boolean {
  if (command === Command.RESET) return false;
  return command !== Command.ERROR || ![0x01, 0x02, 0x06].includes(first);
}

/** Uniform random bytes (FENDs and FESCs included), ended by a FEND so the next real frame starts clean. */
function rawNoise(random: () => number): Uint8Array {
  const n = 1 + Math.floor(random() * 300);
  return Uint8Array.from([...Array.from({ length: n }, () => Math.floor(random() * 256)), FEND]);
}

function shuffled<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
