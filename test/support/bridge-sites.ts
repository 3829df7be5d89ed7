/**
 * Sites for bridge integration tests: each a real SQLite store and sync node
 * on the simulated network (src/demo/sim-network.ts), a form-server double
 * on loopback HTTP, and a bridge between them. `settle` alternates bridge
 * rounds (real async HTTP) with virtual radio time until nothing moves.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBridge, type Bridge } from "../../src/bridge/bridge.js";
import { createKoboDouble, type KoboDouble } from "../../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../../src/bridge/doubles/odk-central-double.js";
import type { FormSchema } from "../../src/bridge/form-schema.js";
import { koboSchemaFromAsset } from "../../src/bridge/kobo-schema.js";
import { parseBridgeConfig, type MappingConfig } from "../../src/bridge/mapping-config.js";
import { valuesFromKoboJson, valuesFromXml } from "../../src/bridge/submission-values.js";
import { parseXml } from "../../src/bridge/xml.js";
import type { CborValue } from "../../src/engine/cbor.js";
import { KIND } from "../../src/engine/event.js";
import type { SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { SimNetwork, type SimSite } from "../../src/demo/sim-network.js";
import { odkSchema, schemaOrFail } from "./household-forms.js";

export const TOKEN = "0123456789abcdef0123456789abcdef01234567";
export const ODK_USER = { email: "bridge@example.test", password: "correct horse battery staple" };

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");

/** The household asset, optionally under another uid and with `notes` renamed (as another site's form might be). */
export function householdAsset(uid: string, renameNotesTo?: string): { uid: string; name: string; content: unknown; deploymentUuid: string; deployedVersionId: string } {
  const a = JSON.parse(fixture("kobo-household-asset.json")) as {
    name: string; content: { survey: Record<string, unknown>[] }; deployment__uuid: string; deployed_version_id: string;
  };
  if (renameNotesTo) {
    for (const row of a.content.survey) {
      if (row.name === "notes") Object.assign(row, { name: renameNotesTo, $autoname: renameNotesTo, $xpath: renameNotesTo });
    }
  }
  return { uid, name: a.name, content: a.content, deploymentUuid: `${a.deployment__uuid.slice(0, 24)}${uid.slice(-8)}`, deployedVersionId: a.deployed_version_id };
}

export interface TestSite {
  readonly name: string;
  readonly sim: SimSite;
  /** The site's bridge (a new one after restart()). */
  readonly bridge: Bridge;
  /** Stops the bridge and opens a new one over the same store and config, as a process restart would. */
  restart(): Promise<void>;
  /** Every record on this site's server: record id → answers by shared name. */
  serverRecords(): Map<string, Map<string, CborValue>>;
  /** Submissions the server holds (to check there are no duplicates). */
  serverCount(): number;
}

export interface KoboSpec { readonly kind: "kobo"; readonly uid: string; readonly renameNotesTo?: string }
export interface OdkSpec { readonly kind: "odk" }
export type SiteSpec = (KoboSpec | OdkSpec) & { readonly name: string; readonly mapping?: Partial<MappingConfig> };

export interface World {
  readonly net: SimNetwork;
  readonly sites: TestSite[];
  readonly kobo: Map<string, KoboDouble>;
  readonly odk: Map<string, { double: OdkCentralDouble; project: number; form: string }>;
  site(name: string): TestSite;
  close(): Promise<void>;
}

function renamed(values: Map<string, CborValue>, rename: Record<string, string>): Map<string, CborValue> {
  return new Map([...values].map(([k, v]) => [rename[k] ?? k, v]));
}

export async function makeWorld(specs: readonly SiteSpec[], seed = 7): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bridge-"));
  const net = new SimNetwork({ names: specs.map((s) => s.name), seed, storePath: (n) => join(dir, `${n}.db`) });
  const kobo = new Map<string, KoboDouble>();
  const odk = new Map<string, { double: OdkCentralDouble; project: number; form: string }>();
  const sites: TestSite[] = [];
  for (const spec of specs) {
    const sim = net.site(spec.name);
    const rename = spec.kind === "kobo" && spec.renameNotesTo ? { [spec.renameNotesTo]: "notes" } : {};
    let server: unknown;
    let source: MappingConfig["source"];
    let schema: FormSchema;
    let read: () => { record: string; values: Map<string, CborValue> }[];
    if (spec.kind === "kobo") {
      const double = createKoboDouble({ token: TOKEN });
      const url = await double.start(0);
      const asset = householdAsset(spec.uid, spec.renameNotesTo);
      double.addAsset(asset);
      kobo.set(spec.name, double);
      schema = schemaOrFail(koboSchemaFromAsset({
        uid: asset.uid, name: asset.name, content: asset.content, deployment__uuid: asset.deploymentUuid,
        deployed_version_id: asset.deployedVersionId, has_deployment: true, deployment__active: true, asset_type: "survey",
      }));
      server = { kind: "kobo", url, token: TOKEN };
      source = { kobo: { asset: spec.uid } };
      read = () => double.submissions(spec.uid).map((row) => ({ record: String(row["meta/rootUuid"]), values: valuesFromKoboJson(schema, row) }));
    } else {
      const double = createOdkCentralDouble({ users: [ODK_USER] });
      const url = await double.start(0);
      const project = double.addProject("Household survey");
      const form = double.addForm(project, fixture("odk-household.xml"));
      odk.set(spec.name, { double, project, form });
      schema = odkSchema();
      server = { kind: "odk", url, ...ODK_USER };
      source = { odk: { project, form } };
      read = () => double.submissions(project, form).map((s) => ({ record: s.instanceId, values: valuesFromXml(schema, parseXml(s.xml)) }));
    }
    const mapping = { type: "household", source, fields: { exclude: [], rename, radio: {} }, ...spec.mapping };
    const config = parseBridgeConfig({ server, mappings: [mapping], poll_interval_s: 60, request_timeout_s: 5, hash_key: "a-shared-secret-for-hashes" });
    const openBridge = async (): Promise<Bridge> => {
      const b = createBridge({ store: sim.store, config, now: () => net.scheduler.now() });
      const opened = await b.open();
      if (!opened.ok) throw new Error(`site ${spec.name}: ${JSON.stringify(opened.error)}`);
      return b;
    };
    let bridge = await openBridge();
    sites.push({
      name: spec.name,
      sim,
      get bridge() {
        return bridge;
      },
      async restart() {
        await bridge.stop();
        bridge = await openBridge();
      },
      serverRecords: () => new Map(read().map((r) => [r.record, renamed(r.values, rename)])),
      serverCount: () => read().length,
    });
  }
  return {
    net, sites, kobo, odk,
    site: (name) => sites.find((s) => s.name === name)!,
    async close() {
      for (const s of sites) await s.bridge.stop();
      for (const d of kobo.values()) await d.stop();
      for (const d of odk.values()) await d.double.stop();
      net.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fingerprint(w: World): string {
  return w.sites
    .map((s) => {
      const o = s.bridge.status().outbox;
      return `${s.sim.store.eventCount()}/${s.sim.store.digest().toString("hex")}/${o.pending}/${o.failed}/${o.written}`;
    })
    .join("|");
}

/**
 * Bridge rounds and radio time, alternately, until a whole round changes
 * nothing and no outbox holds pending or failed entries. Returns the rounds
 * it took; throws if it does not settle in `maxRounds`.
 */
export async function settle(w: World, maxRounds = 12): Promise<number> {
  let last = "";
  for (let round = 1; round <= maxRounds; round++) {
    for (const s of w.sites) {
      await s.bridge.syncOnce();
      s.sim.announce();
    }
    w.net.runFor(10 * 60_000, () => w.net.converged());
    const fp = fingerprint(w);
    const open = w.sites.some((s) => s.bridge.status().outbox.pending + s.bridge.status().outbox.failed > 0);
    if (fp === last && !open && w.net.converged()) return round;
    last = fp;
  }
  throw new Error(`did not settle in ${maxRounds} rounds: ${fingerprint(w)}`);
}

/** Events of a store that change records (its vocabulary events left out). */
export function recordEventCount(store: SqliteStore): number {
  return (store.db.prepare("SELECT count(*) AS n FROM events WHERE kind != ?").get(KIND.vocabulary) as { n: number }).n;
}

/**
 * Copies every attachment's bytes held by any site into every other site's
 * blob store: a stand-in for the radio's blob transfer (another part of the
 * project), reading the blob table directly.
 */
export function shareBlobs(w: World): number {
  const all = new Map<string, { bytes: Buffer; mime: string }>();
  for (const s of w.sites) {
    for (const r of s.sim.store.db.prepare("SELECT hash, mime, bytes FROM blobs").all() as { hash: Buffer; mime: string; bytes: Buffer }[]) {
      all.set(r.hash.toString("hex"), { bytes: r.bytes, mime: r.mime });
    }
  }
  let copied = 0;
  for (const s of w.sites) for (const [hash, b] of all) if (s.sim.store.blobs.put(b.bytes, b.mime, Buffer.from(hash, "hex"))) copied += 1;
  return copied;
}
