/**
 * Realistic, deterministic Kobo/ODK-like workloads for the benchmarks (and
 * tests): household WASH survey submissions of 20 questions, a smaller
 * water-point monitoring form, and a stream of record upserts from a few
 * field sites — mostly new submissions, some later corrections of recent ones
 * (a few changed fields and the base stamp the editor had seen).
 */
import type { CborMap, CborValue } from "../src/engine/cbor.js";
import { signerFromSeed, sha256, type Signer } from "../src/engine/crypto.js";
import type { UpsertBody } from "../src/engine/event.js";
import { createHlcClock, type Hlc, type HlcClock } from "../src/engine/hlc.js";
import { recordId, recordType, type RecordId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";

/** A seeded source of values in [0, 1). */
export type Random = () => number;

/** 2026-11-20T06:00:00Z: the virtual start of every generated workload. */
export const FIXTURE_START_MS = Date.UTC(2026, 10, 20, 6, 0, 0);

const pick = <T>(rand: Random, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const int = (rand: Random, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
/** A decimal with `digits` places whose JS and Python spellings agree (no exponent range). */
const decimal = (rand: Random, lo: number, hi: number, digits: number): number => {
  const scale = 10 ** digits;
  const v = Math.round((lo + rand() * (hi - lo)) * scale) / scale;
  return Number.isInteger(v) ? v + 1 / scale : v; // keep it a visible decimal
};

const GIVEN = ["Amina", "Ibrahim", "Fatima", "Musa", "Aïcha", "Oumar", "Mariam", "Yusuf", "Hauwa", "Sékou", "Grace", "John"] as const;
const FAMILY = ["Yusuf", "Bello", "Traoré", "Abubakar", "Diallo", "Okafor", "Sani", "Koné", "Mohammed", "Danjuma"] as const;
const DISTRICTS = ["kaduna_north", "kaduna_south", "zaria", "kachia", "ikara", "soba"] as const;
const VILLAGES = ["Kawo", "Rigasa", "Tudun Wada", "Unguwan Rimi", "Gonin Gora", "Kakuri", "Barnawa"] as const;
const WATER_SOURCES = ["borehole", "protected_well", "unprotected_well", "river", "piped", "rainwater", "vendor"] as const;
const TREATMENTS = ["boiling", "chlorine", "filter", "sodis", "settling"] as const;
const LATRINES = ["pit_slab", "pit_no_slab", "vip", "flush", "open_defecation"] as const;
const YES_NO = ["yes", "no"] as const;
const COMMENTS = ["", "", "", "Respondent busy, short interview", "Dog at gate", "Water point broken since May", "Re-visit needed"] as const;

function name(rand: Random): string {
  return `${pick(rand, GIVEN)} ${pick(rand, FAMILY)}`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A geopoint as Kobo writes it: "lat lon altitude accuracy". */
function geopoint(rand: Random): string {
  return `${decimal(rand, 9.5, 11.2, 4)} ${decimal(rand, 7.1, 8.2, 4)} ${int(rand, 480, 720)} ${decimal(rand, 3, 15, 1)}`;
}

function subset(rand: Random, xs: readonly string[], max: number): string[] {
  const out = xs.filter(() => rand() < max / xs.length);
  return out.length > 0 ? out : [pick(rand, xs)];
}

/** A uuid v4 instanceID as ODK Collect writes it: `uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
export function instanceId(rand: Random): RecordId {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) b.writeUInt32BE(Math.floor(rand() * 2 ** 32), i);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return recordId(`uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
}

/** The two forms workloads use: a 20-question household survey and an 8-question water-point check. */
export type FormName = "hh_wash_survey" | "water_point_check";

/** The 20 answers of one household WASH survey submission, in form order. */
export function householdSubmission(rand: Random, atMs: number): CborMap {
  const hhSize = int(rand, 1, 14);
  return {
    today: isoDate(atMs),
    enumerator: name(rand),
    district: pick(rand, DISTRICTS),
    village: pick(rand, VILLAGES),
    consent: "yes",
    respondent_name: name(rand),
    respondent_age: int(rand, 18, 85),
    respondent_sex: rand() < 0.55 ? "female" : "male",
    hh_size: hhSize,
    children_under5: int(rand, 0, Math.min(5, hhSize - 1)),
    water_source: pick(rand, WATER_SOURCES),
    water_treatment: subset(rand, TREATMENTS, 1.5),
    distance_to_water_km: decimal(rand, 0.05, 6, 2),
    water_point_functional: pick(rand, YES_NO),
    latrine_type: pick(rand, LATRINES),
    handwashing_station: pick(rand, YES_NO),
    hh_income_usd: decimal(rand, 5, 400, 1),
    meals_per_day: int(rand, 1, 3),
    gps: geopoint(rand),
    comments: pick(rand, COMMENTS),
  };
}

/** The 8 answers of one water-point check: the smaller body used by the 1M-event memory run. */
export function waterPointSubmission(rand: Random, atMs: number): CborMap {
  return {
    today: isoDate(atMs),
    enumerator: name(rand),
    point_code: `WP-${int(rand, 100, 9999)}`,
    functional: pick(rand, YES_NO),
    flow_l_per_min: decimal(rand, 0.5, 40, 1),
    issues: subset(rand, ["handle", "seal", "apron", "taste", "queue"], 1.2),
    gps: geopoint(rand),
    comments: pick(rand, COMMENTS),
  };
}

/** A correction of an earlier submission: one to three answers changed. */
export function correction(rand: Random, form: FormName, atMs: number): CborMap {
  const fresh = form === "hh_wash_survey" ? householdSubmission(rand, atMs) : waterPointSubmission(rand, atMs);
  const editable = form === "hh_wash_survey"
    ? ["respondent_name", "hh_size", "water_point_functional", "gps", "comments", "water_treatment", "hh_income_usd"]
    : ["functional", "flow_l_per_min", "issues", "comments"];
  const out: CborMap = {};
  const n = int(rand, 1, 3);
  while (Object.keys(out).length < n) {
    const k = pick(rand, editable);
    out[k] = fresh[k] as CborValue;
  }
  return out;
}

/** Deterministic Ed25519 identities for the generated sites. */
export function benchSigners(count: number): Signer[] {
  return Array.from({ length: count }, (_, i) => signerFromSeed(sha256(Buffer.from(`meshlogd-bench/author/${i}`))));
}

/** One upsert of a workload, before signing: which site writes it, when, and what. */
export interface PlannedUpsert {
  /** Index of the writing site in the workload's signers. */
  readonly author: number;
  readonly hlc: Hlc;
  readonly body: UpsertBody;
  readonly edit: boolean;
}

/** Shape of a generated workload. */
export interface WorkloadOptions {
  readonly seed: number;
  readonly authors: number;
  readonly events: number;
  /** Share of events that correct an earlier record (default 0.2). */
  readonly editShare?: number;
  readonly form?: FormName;
  /** Corrections pick among this many most recent records (default 5,000). */
  readonly recentWindow?: number;
  /** Time between consecutive events of the whole network, ms (default [50, 4000]: a busy network). */
  readonly gapMs?: readonly [number, number];
}

/**
 * The upserts of a workload in global time order. Each site has its own HLC
 * clock with a small skew; a site editing another site's record has observed
 * that record's newest stamp (its base), as it would after sync. Memory stays
 * bounded by `recentWindow`, so a million events can be streamed.
 */
export function* planUpserts(o: WorkloadOptions): Generator<PlannedUpsert> {
  const rand = seededRandom(o.seed);
  const form: FormName = o.form ?? "hh_wash_survey";
  const type = recordType(form);
  const editShare = o.editShare ?? 0.2;
  const window = o.recentWindow ?? 5_000;
  const [gapMin, gapMax] = o.gapMs ?? [50, 4_000];
  let now = FIXTURE_START_MS;
  const clocks: HlcClock[] = Array.from({ length: o.authors }, (_, i) => {
    const skew = (i - (o.authors - 1) / 2) * 1_500;
    return createHlcClock({ now: () => now + skew });
  });
  const recent: { record: RecordId; last: Hlc }[] = [];
  let nextSlot = 0;
  for (let n = 0; n < o.events; n++) {
    now += int(rand, gapMin, gapMax);
    const author = Math.floor(rand() * o.authors);
    const clock = clocks[author] as HlcClock;
    const target = recent.length > 0 && rand() < editShare ? recent[Math.floor(rand() * recent.length)] : undefined;
    if (target) {
      clock.observe(target.last);
      const hlc = clock.tick();
      const body: UpsertBody = { kind: "upsert", record: target.record, type, base: target.last, fields: correction(rand, form, now) };
      target.last = hlc;
      yield { author, hlc, body, edit: true };
    } else {
      const hlc = clock.tick();
      const fields = form === "hh_wash_survey" ? householdSubmission(rand, now) : waterPointSubmission(rand, now);
      const body: UpsertBody = { kind: "upsert", record: instanceId(rand), type, base: null, fields };
      const entry = { record: body.record, last: hlc };
      if (recent.length < window) recent.push(entry);
      else recent[nextSlot++ % window] = entry;
      yield { author, hlc, body, edit: false };
    }
  }
}
