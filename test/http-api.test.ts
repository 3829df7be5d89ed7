import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import type { Express } from "express";
import { exportBundle } from "../src/bundle/index.js";
import { conflictCount } from "../src/engine/store/store-queries.js";
import { createApi } from "../src/http/api.js";
import { silentLogger } from "../src/log/logger.js";
import { sha256 } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { BLOB_CHUNK_BYTES, BLOB_PREFIX_BYTES } from "../src/engine/sync/blob-messages.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { realClock } from "../src/radio/clock.js";
import { createLoRaMedium } from "../src/radio/lora-medium.js";
import { createSimLink } from "../src/radio/sim-link.js";
import { rnodeSettingsOf } from "../src/service/site-radio.js";
import { HTTP_TOKEN, startServiceSite, type ServiceSite } from "./support/service-site.js";

const bearer = { authorization: `Bearer ${HTTP_TOKEN}` };

describe("HTTP API", () => {
  let s: ServiceSite;
  let app: Express;
  let first: string;

  before(async () => {
    s = await startServiceSite();
    app = createApi({ site: s.site, log: silentLogger, token: HTTP_TOKEN });
    first = s.submit("north", "Amina");
    s.submit("south", "Baraka");
    await s.site.pollNow();
  });
  after(() => s.close());

  it("lists its endpoints", async () => {
    const res = await request(app).get("/api").expect(200);
    assert.ok((res.body.endpoints as { path: string }[]).some((e) => e.path === "/api/records/:id"));
  });

  it("health: 200 with the server's state while the site runs", async () => {
    const res = await request(app).get("/api/health").expect(200);
    assert.equal(res.body.ok, true);
    assert.equal(res.body.server, "ok");
    assert.deepEqual(res.body.attention, []);
  });

  it("status: site, versions, server, store, forms with record counts, outbox", async () => {
    const res = await request(app).get("/api/status").expect(200);
    assert.equal(res.body.site.name, "base-camp");
    assert.equal(res.body.site.author, s.site.signer.author);
    assert.match(res.body.site.node, /^v\d+/);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(res.body.site.version, pkg.version);
    assert.equal(res.body.server.state, "ok");
    assert.equal(res.body.forms.length, 1);
    assert.equal(res.body.forms[0].type, "household");
    assert.equal(res.body.forms[0].records.alive, 2);
    assert.ok(res.body.store.events >= 3, "a vocabulary and two upserts");
    assert.deepEqual(Object.keys(res.body.outbox).sort(), ["failed", "pending", "written"]);
    assert.equal(JSON.stringify(res.body).includes(HTTP_TOKEN), false, "no secret in the status");
  });

  it("status reads each thing once: the server's state, the bridge's status, and the view's totals in one query", async (t) => {
    const server = t.mock.method(s.site, "server");
    const bridge = t.mock.method(s.site.bridge, "status");
    const prepare = t.mock.method(s.site.store.db, "prepare");
    const res = await request(app).get("/api/status").expect(200);
    assert.equal(server.mock.callCount(), 1, "the server's state");
    assert.equal(bridge.mock.callCount(), 1, "the bridge's status");
    const viewQueries = prepare.mock.calls.map((c) => String(c.arguments[0])).filter((sql) => sql.includes("view_counts"));
    assert.equal(viewQueries.length, 1, `one query on view_counts, not ${viewQueries.length}: ${viewQueries.join(" | ")}`);
    t.mock.restoreAll();
    assert.equal(res.body.store.records, s.site.store.recordCount(), "the same total as the store's own count");
    assert.equal(res.body.store.conflicts, conflictCount(s.site.store));
    assert.deepEqual(res.body.forms[0].records, { type: "household", alive: 2, deleted: 0 });
  });

  it("records: a page filtered by type, and paging with next", async () => {
    const all = await request(app).get("/api/records?type=household").expect(200);
    assert.equal(all.body.records.length, 2);
    assert.equal(all.body.next, null);
    const page1 = await request(app).get("/api/records?limit=1").expect(200);
    assert.equal(page1.body.records.length, 1);
    assert.ok(page1.body.next);
    const page2 = await request(app).get(`/api/records?limit=1&after=${encodeURIComponent(page1.body.next as string)}`).expect(200);
    assert.equal(page2.body.records.length, 1);
    assert.notEqual(page2.body.records[0].id, page1.body.records[0].id);
    const none = await request(app).get("/api/records?type=latrine").expect(200);
    assert.deepEqual(none.body.records, []);
  });

  it("records: bad query parameters are a 400 naming the parameter", async () => {
    const res = await request(app).get("/api/records?limit=0").expect(400);
    assert.match(res.body.error, /limit/);
    const res2 = await request(app).get("/api/records?limit=abc").expect(400);
    assert.match(res2.body.error, /limit/);
    const res3 = await request(app).get("/api/records?colour=red").expect(400);
    assert.match(res3.body.error, /colour|query/);
  });

  it("one record with its history and conflicts; an unknown id is a 404", async () => {
    const res = await request(app).get(`/api/records/${encodeURIComponent(first)}`).expect(200);
    assert.equal(res.body.record.id, first);
    assert.equal(res.body.record.alive, true);
    assert.equal(res.body.record.fields["hh/head_name"], "Amina");
    assert.equal(res.body.record.fields.village, "north");
    assert.equal(res.body.record.fields.visit_date, "2026-11-20", "a date as people read it, not days since 1970");
    assert.equal(res.body.history.length, 1);
    assert.equal(res.body.history[0].kind, "upsert");
    assert.equal(res.body.history[0].authorName, "base-camp");
    assert.deepEqual(res.body.conflicts, []);
    const missing = await request(app).get("/api/records/uuid%3Anope").expect(404);
    assert.match(missing.body.error, /no record/);
  });

  it("events: newest first, of one author; a bad author id is a 400", async () => {
    const res = await request(app).get(`/api/events?author=${s.site.signer.author}&limit=2`).expect(200);
    assert.equal(res.body.events.length, 2);
    assert.ok(res.body.events[0].seq > res.body.events[1].seq);
    const bad = await request(app).get("/api/events?author=zz").expect(400);
    assert.match(bad.body.error, /author/);
  });

  it("peers, sync, radio, mappings, conflicts answer with their shapes", async () => {
    assert.deepEqual((await request(app).get("/api/peers").expect(200)).body, { peers: [] });
    const sync = await request(app).get("/api/sync").expect(200);
    assert.equal(sync.body.authors.length, 1);
    assert.equal(sync.body.authors[0].self, true);
    assert.equal(sync.body.total, sync.body.authors[0].seq);
    assert.deepEqual((await request(app).get("/api/radio").expect(200)).body, { links: [] });
    const m = await request(app).get("/api/mappings").expect(200);
    assert.equal(m.body.mappings[0].type, "household");
    assert.match(m.body.mappings[0].form, /aHouseholdSurveyKoboS1/);
    assert.deepEqual((await request(app).get("/api/conflicts").expect(200)).body, { total: 0, conflicts: [] });
  });

  it("outbox: by state, and a bad state is a 400", async () => {
    const res = await request(app).get("/api/outbox?state=failed").expect(200);
    assert.deepEqual(res.body.entries, []);
    const bad = await request(app).get("/api/outbox?state=lost").expect(400);
    assert.match(bad.body.error, /pending, written or failed/);
  });

  it("metrics in Prometheus text format", async () => {
    const res = await request(app).get("/metrics").expect(200);
    assert.match(res.headers["content-type"] as string, /text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^# TYPE meshlogd_outbox_entries gauge$/m);
    assert.match(res.text, /^meshlogd_records\{type="household",state="alive"\} 2$/m);
    assert.match(res.text, /^meshlogd_poll_round_seconds_count [1-9]/m);
    assert.match(res.text, /^meshlogd_server_up\{kind="kobo"\} 1$/m);
  });

  it("write endpoints: no token is a 401, a wrong one a 403, the right one works", async () => {
    const none = await request(app).post("/api/poll").expect(401);
    assert.match(none.body.error, /Authorization: Bearer/);
    await request(app).post("/api/poll").set("authorization", "Bearer wrong-token").expect(403);
    await request(app).post("/api/outbox/retry").set("authorization", `Bearer ${HTTP_TOKEN}x`).expect(403);
    s.submit("east", "Chausiku");
    const ok = await request(app).post("/api/poll").set(bearer).expect(200);
    assert.equal(ok.body.forms[0].records.alive, 3);
    const retry = await request(app).post("/api/outbox/retry").set(bearer).expect(200);
    assert.equal(retry.body.retried, 0);
  });

  it("write endpoints are off without a configured token", async () => {
    const open = createApi({ site: s.site, log: silentLogger });
    const res = await request(open).post("/api/poll").set(bearer).expect(403);
    assert.match(res.body.error, /http\.token/);
  });

  it("bad bodies: oversized or not JSON are refused in JSON", async () => {
    const big = await request(app).post("/api/poll").set(bearer).set("content-type", "application/json").send(`{"x":"${"a".repeat(20_000)}"}`).expect(413);
    assert.match(big.body.error, /larger than the limit/);
    const garbage = await request(app).post("/api/poll").set(bearer).set("content-type", "application/json").send("{not json").expect(400);
    assert.match(garbage.body.error, /not valid JSON/);
  });

  it("unknown paths and path tricks are JSON 404s", async () => {
    const res = await request(app).get("/api/nothing-here").expect(404);
    assert.match(res.body.error, /no such endpoint/);
    const trick = await request(app).get("/..%2f..%2fetc%2fpasswd").expect(404);
    assert.equal(trick.text.includes("root:"), false);
    await request(app).get("/api/records/..%2F..%2Fpasswd").expect(404);
  });

  it("serves the admin page at /", async () => {
    const res = await request(app).get("/").expect(200);
    assert.match(res.headers["content-type"] as string, /text\/html/);
    assert.match(res.text, /meshlogd/);
  });
});

describe("HTTP API: health", () => {
  let s: ServiceSite;
  let app: Express;

  before(async () => {
    const clock = realClock();
    const medium = createLoRaMedium({ clock, random: seededRandom(5) });
    s = await startServiceSite({
      clock,
      links: [{ kind: "rnode", port: "sim:unplugged", frequency: 869_525_000, bandwidth: 125_000, spreading_factor: 9, coding_rate: 5, region: "eu-869.4-869.65" }],
      makeLink: (config) => {
        if (config.kind !== "rnode") throw new Error("a simulated radio only");
        const link = createSimLink({ medium, id: config.port, settings: rnodeSettingsOf(config), clock, random: seededRandom(6) });
        // A radio whose serial port went away: its link says so.
        return { ...link, status: () => ({ ...link.status(), state: "down" as const, reason: "serial port closed" }) };
      },
    });
    app = createApi({ site: s.site, log: silentLogger, token: HTTP_TOKEN });
    s.submit("north", "Amina");
    await s.site.pollNow();
    await s.kobo.stop();
    await s.site.pollNow();
  });
  after(() => s.close());

  it("names what needs attention: the same lines as the status", async () => {
    const health = await request(app).get("/api/health").expect(200);
    const status = await request(app).get("/api/status").expect(200);
    assert.equal(health.body.ok, true);
    assert.equal(health.body.server, status.body.server.state);
    const lines = health.body.attention as string[];
    assert.ok(lines.some((a) => /^Polling .* fails: /.test(a)), lines.join("\n"));
    assert.ok(lines.some((a) => a.startsWith("The link on sim:unplugged is down: serial port closed.")), lines.join("\n"));
    assert.deepEqual(lines, status.body.attention);
  });

  it("reads none of the summary's costly parts: station and blob status, counters, events, record counts", async (t) => {
    const radio = s.site.radios[0]!;
    const store = s.site.store;
    const spies = {
      "station.status": t.mock.method(radio.station, "status"),
      "node.blobStatus": t.mock.method(radio.node, "blobStatus"),
      "store.counterValues": t.mock.method(store, "counterValues"),
      "store.eventCount": t.mock.method(store, "eventCount"),
      "store.frontier": t.mock.method(store, "frontier"),
    };
    const prepare = t.mock.method(store.db, "prepare");
    await request(app).get("/api/health").expect(200);
    for (const [name, spy] of Object.entries(spies)) assert.equal(spy.mock.callCount(), 0, `${name} was read`);
    assert.deepEqual(prepare.mock.calls.map((c) => String(c.arguments[0])).filter((sql) => sql.includes("view_counts")), []);
    await request(app).get("/api/status").expect(200);
    assert.ok(spies["node.blobStatus"].mock.callCount() > 0, "the status does read them (the spies see it)");
  });
});

describe("HTTP API: bundle import", () => {
  let from: ServiceSite;
  let to: ServiceSite;
  let app: Express;
  let bundle: Buffer;

  before(async () => {
    from = await startServiceSite({ name: "field-team" });
    from.submit("north", "Amina");
    from.submit("south", "Baraka");
    await from.site.pollNow();
    to = await startServiceSite({ name: "base-camp", members: [{ name: "field-team", key: from.site.signer.author }] });
    app = createApi({ site: to.site, log: silentLogger, token: HTTP_TOKEN });
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => void (chunks.push(c), done()) });
    await exportBundle(from.site.store, { stream: sink }, { signer: from.site.signer, networkKey: null, network: "test-net" });
    bundle = Buffer.concat(chunks);
  });
  after(async () => {
    await from.close();
    await to.close();
  });

  it("needs the token and an octet-stream body", async () => {
    await request(app).post("/api/import").set("content-type", "application/octet-stream").send(bundle).expect(401);
    const res = await request(app).post("/api/import").set(bearer).set("content-type", "application/json").send("{}").expect(415);
    assert.match(res.body.error, /application\/octet-stream/);
  });

  it("imports a member's bundle through the same checks as radio traffic; the records appear", async () => {
    const res = await request(app).post("/api/import?name=team.mlbundle").set(bearer).set("content-type", "application/octet-stream").send(bundle).expect(200);
    assert.equal(res.body.ok, true);
    assert.ok(res.body.counts.applied >= 3, JSON.stringify(res.body.counts));
    const records = await request(app).get("/api/records?type=household").expect(200);
    assert.deepEqual(records.body.records.map((r: { fields: Record<string, unknown> }) => r.fields["hh/head_name"]).sort(), ["Amina", "Baraka"]);
    const again = await request(app).post("/api/import").set(bearer).set("content-type", "application/octet-stream").send(bundle).expect(200);
    assert.equal(again.body.counts.applied, 0);
  });

  it("a damaged bundle is refused with a message, and nothing changes", async () => {
    const events = to.site.store.eventCount();
    const bad = Buffer.from(bundle);
    bad[bad.length - 10] = (bad[bad.length - 10] ?? 0) ^ 0xff;
    const res = await request(app).post("/api/import").set(bearer).set("content-type", "application/octet-stream").send(bad).expect(422);
    assert.ok(typeof res.body.error === "string" && res.body.error.length > 10);
    const garbage = await request(app).post("/api/import").set(bearer).set("content-type", "application/octet-stream").send(Buffer.from("not a bundle at all")).expect(422);
    assert.match(garbage.body.problem, /not-a-bundle|truncated/);
    assert.equal(to.site.store.eventCount(), events);
  });
});

describe("HTTP API: attachment bytes by radio", () => {
  let s: ServiceSite;
  let app: Express;
  const held = Buffer.alloc(3_000, 7);
  const lacking = Buffer.alloc(1_000, 9);

  before(async () => {
    const clock = realClock();
    const medium = createLoRaMedium({ clock, random: seededRandom(3) });
    s = await startServiceSite({
      attachments: { policy: "transfer", max_bytes: 4096 },
      clock,
      links: [{ kind: "rnode", port: "sim:base-camp", frequency: 869_525_000, bandwidth: 125_000, spreading_factor: 9, coding_rate: 5, region: "eu-869.4-869.65" }],
      makeLink: (config) => {
        if (config.kind !== "rnode") throw new Error("a simulated radio only");
        return createSimLink({ medium, id: config.port, settings: rnodeSettingsOf(config), clock, random: seededRandom(4) });
      },
    });
    app = createApi({ site: s.site, log: silentLogger, token: HTTP_TOKEN });
    const a = s.submit("north", "Amina");
    const b = s.submit("south", "Baraka");
    await s.site.pollNow();
    // One photo held here, another named by a record and not held: wanted (policy transfer, 4 KiB at most).
    const store = s.site.store;
    store.blobs.put(held, "image/jpeg");
    for (const [record, bytes] of [[a, held], [b, lacking]] as const) {
      store.append({ kind: "attachment", record: recordId(record), type: recordType("household"), field: "photo", hash: sha256(bytes), size: bytes.length, mime: "image/jpeg" });
    }
    // Its first chunk, heard on the air: kept. And a chunk of a blob no record names: not wanted here.
    const chunk = { type: "blob-chunk" as const, prefix: sha256(lacking).subarray(0, BLOB_PREFIX_BYTES), index: 0, bytes: lacking.subarray(0, BLOB_CHUNK_BYTES) };
    s.site.radios[0]!.node.receive(encodeMessage(chunk));
    const stranger = Buffer.alloc(500, 3);
    s.site.radios[0]!.node.receive(encodeMessage({ ...chunk, prefix: sha256(stranger).subarray(0, BLOB_PREFIX_BYTES), bytes: stranger.subarray(0, BLOB_CHUNK_BYTES) }));
  });
  after(() => s.close());

  it("/api/radio: per link, blobs held, wanted and part-way received, and the traffic counters", async () => {
    const [link] = (await request(app).get("/api/radio").expect(200)).body.links as { blobs: Record<string, Record<string, number>> }[];
    const blobs = link!.blobs;
    assert.deepEqual(blobs.held, { count: 1, bytes: held.length });
    assert.deepEqual(blobs.wanted, { count: 1, bytes: lacking.length });
    assert.deepEqual(blobs.partial, { count: 1, bytes: lacking.length, received: BLOB_CHUNK_BYTES });
    assert.equal(blobs.counters!.chunksReceived, 2);
    assert.equal(blobs.counters!.chunksKept, 1);
    assert.equal(blobs.counters!.unwantedChunks, 1);
    const status = await request(app).get("/api/status").expect(200);
    assert.deepEqual(status.body.links[0].blobs.wanted, blobs.wanted, "the status says the same");
  });

  it("metrics: blobs held, wanted, partial, and chunk counters", async () => {
    const res = await request(app).get("/metrics").expect(200);
    const labels = 'link="0",kind="sim",target="sim:base-camp"';
    assert.match(res.text, /^# TYPE meshlogd_blobs_held gauge$/m);
    assert.match(res.text, /^meshlogd_blobs_held 1$/m);
    assert.match(res.text, new RegExp(`^meshlogd_blob_bytes_held ${held.length}$`, "m"));
    assert.match(res.text, new RegExp(`^meshlogd_blobs_wanted\\{${labels}\\} 1$`, "m"));
    assert.match(res.text, new RegExp(`^meshlogd_blobs_partial\\{${labels}\\} 1$`, "m"));
    assert.match(res.text, new RegExp(`^meshlogd_blob_bytes_partial_received\\{${labels}\\} ${BLOB_CHUNK_BYTES}$`, "m"));
    assert.match(res.text, new RegExp(`^meshlogd_blob_chunks_received_total\\{${labels},outcome="unwanted"\\} 1$`, "m"));
    assert.match(res.text, new RegExp(`^meshlogd_blob_chunks_received_total\\{${labels},outcome="kept"\\} 1$`, "m"));
    assert.match(res.text, /^# TYPE meshlogd_blob_chunks_sent_total counter$/m);
    assert.match(res.text, new RegExp(`^meshlogd_blob_bad_assemblies_total\\{${labels}\\} 0$`, "m"));
  });
});
