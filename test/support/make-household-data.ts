/**
 * Makes test/fixtures/household-assessment-data.json: 1,000 submissions to
 * the household assessment of test/fixtures/household-assessment-asset.json,
 * as one page of the KoboToolbox data API (`GET /api/v2/assets/{uid}/data/`):
 * string answers under full group paths, skip logic honoured (empty answers
 * are absent, as kpi leaves them out), repeats as arrays of path-keyed
 * objects, and kpi's envelope keys. Deterministic from the seed.
 *
 * Regenerate from the repository root, after a build (`npm run build`):
 *   node dist/test/support/make-household-data.js > test/fixtures/household-assessment-data.json
 * test/household-fixture.test.ts fails when the file and this generator disagree.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { seededRandom } from "../../src/engine/random.js";
import { drawHousehold, type Draw, type Household } from "./household-answers.js";

/** The seed of the committed fixture. */
export const HOUSEHOLD_DATA_SEED = 20240304;
/** Submissions in the committed fixture. */
export const HOUSEHOLD_DATA_COUNT = 1000;

/** One row as kpi returns it: answers are strings, repeats arrays, the envelope mixed in. */
export type KoboRow = Record<string, unknown>;

/** A page of `GET /api/v2/assets/{uid}/data/` holding every row. */
export interface KoboDataPage {
  readonly count: number;
  readonly next: null;
  readonly previous: null;
  readonly results: readonly KoboRow[];
}

/** What the rows take from the asset fixture. */
export interface AssetFacts {
  readonly uid: string;
  readonly formhubUuid: string;
  /** Deployed versions, oldest first, with the local day (YYYY-MM-DD) each went live. */
  readonly versions: readonly { readonly uid: string; readonly from: string }[];
  readonly lgasByState: ReadonlyMap<string, readonly string[]>;
  readonly villagesByLga: ReadonlyMap<string, readonly string[]>;
}

interface ChoiceRow {
  readonly list_name: string;
  readonly name: string;
  readonly state?: string;
  readonly lga?: string;
}

const ASSET_URL = new URL("../../../test/fixtures/household-assessment-asset.json", import.meta.url);

function groupChoices(choices: readonly ChoiceRow[], list: string, by: "state" | "lga"): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of choices) {
    const key = c[by];
    if (c.list_name !== list || key === undefined) continue;
    out.set(key, [...(out.get(key) ?? []), c.name]);
  }
  return out;
}

/** What the rows need from the asset fixture: ids, versions, and the cascading location lists. */
export function readAssetFacts(asset: unknown = JSON.parse(readFileSync(ASSET_URL, "utf8"))): AssetFacts {
  const a = asset as {
    uid: string;
    deployment__uuid: string;
    deployed_versions: { results: { uid: string; date_deployed: string }[] };
    content: { choices: ChoiceRow[] };
  };
  const versions = [...a.deployed_versions.results].reverse().map((v) => ({ uid: v.uid, from: v.date_deployed.slice(0, 10) }));
  return {
    uid: a.uid,
    formhubUuid: a.deployment__uuid,
    versions,
    lgasByState: groupChoices(a.content.choices, "lgas", "state"),
    villagesByLga: groupChoices(a.content.choices, "villages", "lga"),
  };
}

/** A version 4 UUID from the seeded source. */
function uuid4(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = "4";
  hex[16] = "89ab"[Math.floor(random() * 4)] as string;
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Local wall time (West Africa Time, UTC+1) of a UTC instant, as the device writes start/end. */
const WAT_OFFSET_MS = 3_600_000;

function deviceTimestamp(utcMs: number): string {
  return `${new Date(utcMs + WAT_OFFSET_MS).toISOString().slice(0, -1)}+01:00`;
}

/** kpi's `_submission_time`: UTC, whole seconds, no zone. */
function serverTimestamp(utcMs: number): string {
  return new Date(utcMs).toISOString().slice(0, 19);
}

/** When the interview happened and when the phone got a connection to send it. */
interface Timing {
  readonly startMs: number;
  readonly endMs: number;
  readonly submittedMs: number;
}

const FIRST_DAY_UTC = Date.UTC(2024, 2, 4);
const COLLECTION_DAYS = 18;

function drawTiming(d: Draw): Timing {
  // Six working days a week: skip Sundays.
  const day = d.int(0, COLLECTION_DAYS - 1);
  const dayStart = FIRST_DAY_UTC + (day + Math.floor(day / 6)) * 86_400_000;
  const startMs = dayStart + 7 * 3_600_000 + d.int(0, 8.5 * 3_600_000);
  const endMs = startMs + d.int(17 * 60_000, 55 * 60_000);
  // Most phones sync over the evening's mobile data; some only days later, back at the base.
  const wait = d.chance(0.6) ? d.int(1, 5) * 3_600_000 : d.int(12, 80) * 3_600_000;
  return { startMs, endMs, submittedMs: endMs + wait + d.int(0, 3_599_000) };
}

function versionAt(facts: AssetFacts, localDay: string): string {
  let uid = facts.versions[0]?.uid ?? "";
  for (const v of facts.versions) if (v.from < localDay) uid = v.uid;
  return uid;
}

const VALIDATION: readonly [string, string][] = [
  ["validation_status_approved", "Approved"],
  ["validation_status_not_approved", "Not approved"],
];

function drawValidation(d: Draw, submittedMs: number): Record<string, unknown> {
  if (d.chance(0.65)) return {};
  const [uid, label] = VALIDATION[d.chance(0.95) ? 0 : 1] as [string, string];
  const at = Math.floor(submittedMs / 1000) + d.int(3_600, 4 * 86_400);
  return { timestamp: at, uid, by_whom: "msna_im", label };
}

/** The meta/ keys: an edited submission (2 %) has a new instanceID and names the one it replaced. */
function drawMeta(d: Draw): { uuid: string; meta: Record<string, string> } {
  const root = uuid4(d.random);
  if (!d.chance(0.02)) return { uuid: root, meta: { "meta/instanceID": `uuid:${root}`, "meta/rootUuid": `uuid:${root}` } };
  const uuid = uuid4(d.random);
  return { uuid, meta: { "meta/instanceID": `uuid:${uuid}`, "meta/deprecatedID": `uuid:${root}`, "meta/rootUuid": `uuid:${root}` } };
}

function geolocation(gps: string | undefined): [number, number] | [null, null] {
  if (gps === undefined) return [null, null];
  const [lat, lon] = gps.split(" ").map(Number);
  return [lat ?? null, lon ?? null] as [number, number];
}

/** One submission, keys in kpi's order, without `_id` (given after sorting by submission time). */
function makeRow(facts: AssetFacts, d: Draw): { submittedMs: number; row: KoboRow } {
  const t = drawTiming(d);
  const start = deviceTimestamp(t.startMs);
  const hh: Household = drawHousehold(d, { localDay: start.slice(0, 10), lgasByState: facts.lgasByState, villagesByLga: facts.villagesByLga });
  const { uuid, meta } = drawMeta(d);
  const row: KoboRow = {
    "formhub/uuid": facts.formhubUuid,
    start,
    end: deviceTimestamp(t.endMs),
    ...hh.answers,
    __version__: versionAt(facts, start.slice(0, 10)),
    ...meta,
    _xform_id_string: facts.uid,
    _uuid: uuid,
    _attachments: [],
    _status: "submitted_via_web",
    _geolocation: geolocation(hh.answers["loc/gps"] as string | undefined),
    _submission_time: serverTimestamp(t.submittedMs),
    _tags: [],
    _notes: [],
    _validation_status: drawValidation(d, t.submittedMs),
    _submitted_by: hh.enumerator,
  };
  return { submittedMs: t.submittedMs, row };
}

/** The first `_id` of the page: the server holds other projects' submissions too. */
const FIRST_ID = 41_873_260;

/** `count` submissions, in kpi's default order (`_id` ascending, given in submission order). */
export function makeHouseholdData(seed = HOUSEHOLD_DATA_SEED, count = HOUSEHOLD_DATA_COUNT, facts = readAssetFacts()): KoboDataPage {
  const d = createDraw(seededRandom(seed));
  const made = Array.from({ length: count }, () => makeRow(facts, d));
  made.sort((a, b) => a.submittedMs - b.submittedMs);
  let id = FIRST_ID;
  const results = made.map(({ row }) => {
    id += 1 + (d.chance(0.1) ? d.int(1, 4) : 0);
    return { _id: id, ...row };
  });
  return { count: results.length, next: null, previous: null, results };
}

/** A small drawing kit over one seeded source. */
export function createDraw(random: () => number): Draw {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (Math.floor(hi) - lo + 1));
  return {
    random,
    int,
    chance: (p) => random() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError("pick from an empty list");
      return items[int(0, items.length - 1)] as (typeof items)[number];
    },
    weighted: (table) => {
      const total = Object.values(table).reduce((s, w) => s + w, 0);
      let x = random() * total;
      for (const [k, w] of Object.entries(table)) if ((x -= w) < 0) return k;
      return Object.keys(table).at(-1) as string;
    },
  };
}

/** The page as the fixture file holds it: valid JSON, one row per line so diffs stay readable. */
export function formatDataPage(page: KoboDataPage): string {
  const rows = page.results.map((r) => JSON.stringify(r)).join(",\n");
  return `{"count":${page.count},"next":null,"previous":null,"results":[\n${rows}\n]}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(formatDataPage(makeHouseholdData()));
}
