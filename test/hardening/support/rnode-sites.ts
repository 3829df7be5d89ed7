/**
 * Three full sites in this process for the RNode fault tests: each a real
 * SQLite file, a bridge to a form-server double on loopback HTTP (two
 * KoboToolbox, one ODK Central) and one RNode link — the real driver over a
 * virtual RNode — on one simulated LoRa air (sealed, everyone in range),
 * radio time running SPEED times faster than real time. Polls are driven by
 * the tests; write-backs after radio ingest run on the site's own timer.
 *
 * Also the people at the servers (new submissions and edits, seeded) and the
 * convergence check the tests share.
 *
 * Imported by tests only; no side effects.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKoboDouble, type KoboDouble } from "../../../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../../../src/bridge/doubles/odk-central-double.js";
import { valuesFromKoboJson, valuesFromXml } from "../../../src/bridge/submission-values.js";
import { parseXml } from "../../../src/bridge/xml.js";
import type { CborValue } from "../../../src/engine/cbor.js";
import { generateSigner } from "../../../src/engine/crypto.js";
import { frontierTotal } from "../../../src/engine/frontier.js";
import { seededRandom } from "../../../src/engine/random.js";
import { silentLogger } from "../../../src/log/logger.js";
import { generateNetworkKey } from "../../../src/radio/air/network-key.js";
import { scaledClock } from "../../../src/radio/clock.js";
import { createLoRaMedium } from "../../../src/radio/lora-medium.js";
import { meshTopology } from "../../../src/radio/lora-topology.js";
import { createRNodeLink } from "../../../src/radio/rnode/rnode-link.js";
import { createVirtualRNode, type VirtualRNode } from "../../../src/radio/rnode/virtual-rnode.js";
import { parseSiteConfig } from "../../../src/service/site-config.js";
import { rnodeSettingsOf } from "../../../src/service/site-radio.js";
import { siteSummary, type LinkSummary } from "../../../src/service/site-status.js";
import { createSite, type Site } from "../../../src/service/site.js";
import { householdAsset, ODK_USER, TOKEN } from "../../support/bridge-sites.js";
import { koboSchema, odkSchema } from "../../support/household-forms.js";
import { recordingLogger, type LogLine } from "../../support/rnode-rig.js";
import { COMPARED_FIELDS } from "./field-workload.js";

export const SITE_NAMES = ["kobo-a", "odk-b", "kobo-c"] as const;
export type SiteName = (typeof SITE_NAMES)[number];
/** Radio time per real time: frames of 50–400 ms take a few real ms; reconnect back-offs (1–30 s) stay short. */
export const SPEED = 8;
/** How often the tests poll the servers and look at the sites while they wait (real ms). */
const LOOK_EVERY_MS = 150;
const fixture = (name: string): string => readFileSync(new URL(`../../../../test/fixtures/${name}`, import.meta.url), "utf8");

/** Record id → the compared answers, and how many submissions the server holds (more than records: one is there twice). */
export interface ServerRecords {
  readonly records: Map<string, Map<string, CborValue>>;
  readonly count: number;
}

export interface RadioSite {
  readonly name: SiteName;
  readonly site: Site;
  /** The site's RNode: unplug, reset, inject serial bytes. */
  readonly device: VirtualRNode;
  /** What the RNode link logged (its "RNode link down" lines say why). */
  readonly linkLogs: LogLine[];
  /** The site's one link as /api/status shows it. */
  link(): LinkSummary;
  /** A new household submission at this site's server; returns its record id. */
  submit(answers: Record<string, string>): string;
  /** A person's edit of `record`'s current version at this site's server. */
  edit(record: string, patch: Record<string, string>): void;
  records(): ServerRecords;
}

export interface RadioWorld {
  readonly sites: readonly RadioSite[];
  site(name: SiteName): RadioSite;
  pollAll(): Promise<void>;
  close(): Promise<void>;
}

const koboUid = (name: string): string => `aRf${name.replace("-", "")}Kobo`;
const compared = (values: Map<string, CborValue>) => new Map(COMPARED_FIELDS.map((f) => [f, values.get(f) ?? null]));

interface Server {
  readonly config: Record<string, unknown>;
  readonly source: Record<string, unknown>;
  submit(answers: Record<string, string>): string;
  edit(record: string, patch: Record<string, string>): void;
  records(): ServerRecords;
  stop(): Promise<void>;
}

async function koboServer(name: string): Promise<Server> {
  const uid = koboUid(name);
  const kobo: KoboDouble = createKoboDouble({ token: TOKEN });
  kobo.addAsset(householdAsset(uid));
  const url = await kobo.start(0);
  const schema = koboSchema();
  const row = (record: string) => kobo.submissions(uid).find((r) => r["meta/rootUuid"] === record);
  return {
    config: { kind: "kobo", url, token: TOKEN },
    source: { kobo: { asset: uid } },
    submit: (answers) => String(kobo.submitLocal(uid, answers)["meta/rootUuid"]),
    edit: (record, patch) => void kobo.editLocal(uid, Number(row(record)?._id), patch),
    records: () => {
      const rows = kobo.submissions(uid);
      return { records: new Map(rows.map((r) => [String(r["meta/rootUuid"]), compared(valuesFromKoboJson(schema, r))])), count: rows.length };
    },
    stop: () => kobo.stop(),
  };
}

async function odkServer(): Promise<Server> {
  const odk: OdkCentralDouble = createOdkCentralDouble({ users: [ODK_USER] });
  const url = await odk.start(0);
  const project = odk.addProject("Household survey");
  const form = odk.addForm(project, fixture("odk-household.xml"));
  const schema = odkSchema();
  return {
    config: { kind: "odk", url, ...ODK_USER },
    source: { odk: { project, form } },
    submit: (answers) => odk.submitLocal(project, form, answers),
    edit: (record, patch) => odk.editLocal(project, form, record, patch),
    records: () => {
      const subs = odk.submissions(project, form);
      return { records: new Map(subs.map((s) => [s.instanceId, compared(valuesFromXml(schema, parseXml(s.xml)))])), count: subs.length };
    },
    stop: () => odk.stop(),
  };
}

/**
 * Starts the three sites and waits until every link is up (but those of the
 * sites whose RNode is `unplugged` at start: their link starts down, as
 * meshlogd's own link factory has it). `seed` drives the air, the devices and
 * the links' jitter; `bootMs` gives a device's boot time (default 1 s; an
 * ESP32-S3 board takes over 10 s).
 */
export async function startRadioWorld(seed: number, bootMs: Partial<Record<SiteName, number>> = {}, unplugged: readonly SiteName[] = []): Promise<RadioWorld> {
  const root = mkdtempSync(join(tmpdir(), "meshlogd-rnode-faults-"));
  const clock = scaledClock(SPEED, Date.now());
  const random = seededRandom(seed);
  const medium = createLoRaMedium({ clock, random, topology: meshTopology([...SITE_NAMES]) });
  const signers = SITE_NAMES.map(() => generateSigner().signer);
  const networkKey = generateNetworkKey();
  const servers: Server[] = [];
  const sites: RadioSite[] = [];
  const world: RadioWorld = {
    sites,
    site: (name) => sites.find((s) => s.name === name) ?? assertNever(name),
    async pollAll() {
      for (const s of sites) await s.site.pollNow();
    },
    async close() {
      for (const s of sites) await s.site.stop();
      for (const s of servers) await s.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (const [i, name] of SITE_NAMES.entries()) {
    const server = name === "odk-b" ? await odkServer() : await koboServer(name);
    servers.push(server);
    const port = `/dev/ttyRF-${name}-${seed}`;
    const config = parseSiteConfig({
      site: { name },
      network: { name: "rnode-faults", key: networkKey, members: SITE_NAMES.flatMap((other, j) => (j === i ? [] : [{ name: other, key: signers[j]?.author }])) },
      links: [{ kind: "rnode", port, frequency: 869_525_000, spreading_factor: 7, region: "eu-869.4-869.65" }],
      server: server.config,
      mappings: [{ type: "household", source: server.source }],
    });
    const device = createVirtualRNode({ path: port, air: medium.attach(name), clock, random, ...(bootMs[name] ? { bootDelayMs: bootMs[name] } : {}) });
    if (unplugged.includes(name)) device.unplug();
    const linkLogs: LogLine[] = [];
    const site = createSite({
      config, signer: signers[i]!, dataDir: join(root, name), log: silentLogger, clock, random, manualPolls: true,
      makeLink: (c) => {
        if (c.kind !== "rnode") throw new Error("rnode links only");
        return createRNodeLink({ path: c.port, binding: device.binding, settings: rnodeSettingsOf(c), clock, logger: recordingLogger(linkLogs), random, waitForDevice: true });
      },
    });
    await site.start();
    sites.push({ name, site, device, linkLogs, link: () => siteSummary(site).links[0]!, submit: server.submit, edit: server.edit, records: server.records });
  }
  return world;
}

function assertNever(name: string): never {
  throw new Error(`no site ${name}`);
}

/** Waits (polling every server meanwhile) until `check` holds; on timeout fails with `what` and what `explain` says then. */
export async function pollUntil(w: RadioWorld, what: string, check: () => boolean, ms: number, explain: () => string = () => ""): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    await w.pollAll();
    if (check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, LOOK_EVERY_MS));
  }
}

const show = (m: Map<string, CborValue> | undefined): string => (m ? JSON.stringify(Object.fromEntries(m)) : "absent");

/**
 * What keeps the world from being converged, one line each; empty when every
 * server holds every record in `expected` (and no other) once with the same
 * answers, every store has the same frontier, and every outbox is drained.
 */
export function divergence(w: RadioWorld, expected: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const [first] = w.sites;
  const reference = first!.records();
  const frontier = (s: RadioSite) => JSON.stringify([...s.site.store.frontier()].sort());
  for (const s of w.sites) {
    const { records, count } = s.records();
    if (count !== records.size) out.push(`${s.name}'s server holds ${count} submissions for ${records.size} records`);
    for (const id of expected) if (!records.has(id)) out.push(`${s.name}'s server lacks ${id}`);
    for (const id of records.keys()) if (!expected.has(id)) out.push(`${s.name}'s server holds ${id}, which nobody submitted`);
    for (const [id, answers] of records) if (show(answers) !== show(reference.records.get(id))) out.push(`${id}: ${s.name} ${show(answers)}, ${first!.name} ${show(reference.records.get(id))}`);
    const outbox = s.site.bridge.status().outbox;
    if (outbox.pending + outbox.failed > 0) out.push(`${s.name}'s outbox: ${JSON.stringify(outbox)}`);
    if (frontier(s) !== frontier(first!)) out.push(`${s.name} holds ${frontierTotal(s.site.store.frontier())} events, ${first!.name} ${frontierTotal(first!.site.store.frontier())}`);
  }
  return out;
}

/** Polls until {@link divergence} is empty; fails naming what still differs. */
export async function waitConverged(w: RadioWorld, expected: ReadonlySet<string>, ms: number): Promise<void> {
  await pollUntil(w, "every server to hold the same records", () => divergence(w, expected).length === 0, ms, () => divergence(w, expected).slice(0, 12).join("\n"));
}

/** People at the servers: new submissions and edits, drawn from a seeded source; what they did, for the end checks. */
export interface People {
  /** Every record id people created, at any server. */
  readonly created: Set<string>;
  /** Per record, the notes people gave it, in order. */
  readonly notes: Map<string, string[]>;
  readonly done: { creates: number; edits: number };
  /** One new submission at `at`'s server. */
  create(at: RadioSite): string;
  /** One edit (new notes) of a record `at`'s server holds; null when it holds none. */
  edit(at: RadioSite): string | null;
  /** A new submission or (one time in three) an edit, at a server drawn from `among`. */
  act(among: readonly RadioSite[]): void;
}

const VILLAGES = ["north", "south", "east", "west"];

export function createPeople(seed: number): People {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const created = new Set<string>();
  const notes = new Map<string, string[]>();
  const done = { creates: 0, edits: 0 };
  let n = 0;
  const people: People = {
    created, notes, done,
    create(at) {
      const id = at.submit({ village: pick(VILLAGES), "hh/head_name": `Head ${++n}`, "hh/size": String(1 + Math.floor(random() * 9)), visit_date: "2026-11-20" });
      created.add(id);
      done.creates++;
      return id;
    },
    edit(at) {
      const ids = [...at.records().records.keys()].sort();
      if (ids.length === 0) return null;
      const id = pick(ids);
      const text = `note ${++n} at ${at.name}`;
      at.edit(id, { notes: text });
      notes.set(id, [...(notes.get(id) ?? []), text]);
      done.edits++;
      return id;
    },
    act(among) {
      const at = pick(among);
      if (random() < 1 / 3 && people.edit(at) !== null) return;
      people.create(at);
    },
  };
  return people;
}

/** Records edited exactly once whose converged notes at some server are not that edit's: an edit that was lost. */
export function lostEdits(w: RadioWorld, people: People): string[] {
  const out: string[] = [];
  for (const [id, texts] of people.notes) {
    if (texts.length !== 1) continue;
    for (const s of w.sites) {
      const got = s.records().records.get(id)?.get("notes");
      if (got !== texts[0]) out.push(`${id} at ${s.name}: notes ${JSON.stringify(got)}, the one edit set ${JSON.stringify(texts[0])}`);
    }
  }
  return out;
}
