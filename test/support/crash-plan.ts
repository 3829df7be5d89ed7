/**
 * The deterministic workload of the crash-safety test: signed feeds of a few
 * remote authors (fixed seeds, fixed HLCs) and the order in which the child
 * process delivers them to its store. The parent generates it once and hands
 * it to every child run through a file, so each restart sees the same events.
 *
 * Imported by test/crash-safety.test.ts and test/support/crash-child.ts; it
 * has no side effects (node --test also loads every file under dist/test/).
 */
import type { CborMap, CborValue } from "../../src/engine/cbor.js";
import { signerFromSeed, type Signer } from "../../src/engine/crypto.js";
import { signEvent, type EventBody, type SignedEvent } from "../../src/engine/event.js";
import { decodeSignedEvent, encodeSignedEvent } from "../../src/engine/event-codec.js";
import type { Hlc } from "../../src/engine/hlc.js";
import { recordId, recordType, type AuthorId, type RecordId } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";

/** How the child hands one delivery to the store. */
export type DeliveryForm = "full" | "encoded" | "wire";

export type PlanStep =
  /** Ingest these events (remote author index, seq) in one call. Wire deliveries are one author's consecutive seqs. */
  | { readonly kind: "deliver"; readonly form: DeliveryForm; readonly items: readonly (readonly [number, number])[] }
  /** Append local events (store.append) until the local feed reaches `target`. */
  | { readonly kind: "local"; readonly target: number };

/** What is written to the plan file (JSON). */
export interface PlanFile {
  readonly authorSeeds: readonly string[];
  readonly localSeed: string;
  /** Per remote author: its feed, each event as hex of encodeSignedEvent. */
  readonly feeds: readonly (readonly string[])[];
  /** Record ids the local site edits (all records of the plan). */
  readonly records: readonly string[];
  readonly steps: readonly PlanStep[];
}

/** A plan with its events decoded. */
export interface Plan {
  readonly file: PlanFile;
  readonly authors: readonly Signer[];
  readonly local: Signer;
  readonly feeds: readonly (readonly SignedEvent[])[];
  readonly encoded: readonly (readonly Buffer[])[];
  readonly records: readonly RecordId[];
}

export interface PlanOptions {
  readonly seed: number;
  readonly authors: number;
  readonly eventsPerAuthor: number;
  /** HLC wall of the first remote event (ms). */
  readonly t0: number;
}

const TYPES = ["water_point", "household", "clinic"];
const FIELDS = ["q1", "q2", "q3", "q4", "q5", "status"];

function seedBytes(tag: number): Buffer {
  const b = Buffer.alloc(32, 0x5a);
  b.writeUInt32BE(tag, 0);
  return b;
}

interface PlannedRecord {
  readonly id: RecordId;
  /** Every write so far: global step index and stamp. */
  readonly writes: { step: number; hlc: Hlc }[];
}

export function generatePlan(o: PlanOptions): PlanFile {
  const random = seededRandom(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const authorSeeds = Array.from({ length: o.authors }, (_, i) => seedBytes(1000 + i));
  const signers = authorSeeds.map((s) => signerFromSeed(s));
  const feeds: SignedEvent[][] = signers.map(() => []);
  /** Global step at which each event was written, per author. */
  const writtenAt: number[][] = signers.map(() => []);
  const records: PlannedRecord[] = [];

  function value(): CborValue {
    switch (Math.floor(random() * 8)) {
      case 0: return Math.floor(random() * 1000);
      case 1: return -Math.floor(random() * 50);
      case 2: return `answer ${Math.floor(random() * 1e6)}`;
      case 3: return Math.floor(random() * 100) / 8; // exact binary fractions
      case 4: return random() < 0.5;
      case 5: return null;
      case 6: return { a: [1, 2, Math.floor(random() * 9)], b: "x" };
      default: return Buffer.from([Math.floor(random() * 256), 7, 7]);
    }
  }
  function hex(chars: number): string {
    let out = "";
    for (let i = 0; i < chars; i++) out += Math.floor(random() * 16).toString(16);
    return out;
  }
  function fields(n: number): CborMap {
    const f: CborMap = {};
    for (let i = 0; i < n; i++) f[pick(FIELDS)] = value();
    return f;
  }
  /** The newest write of `r` that an author lagging `lag` steps behind had seen at `step`. */
  function baseFor(r: PlannedRecord, step: number, lag: number): Hlc | null {
    let best: { step: number; hlc: Hlc } | null = null;
    for (const w of r.writes) if (w.step <= step - lag && (best === null || w.step > best.step)) best = w;
    return best?.hlc ?? null;
  }

  const remaining = signers.map(() => o.eventsPerAuthor);
  const total = o.authors * o.eventsPerAuthor;
  for (let step = 0; step < total; step++) {
    const candidates = remaining.flatMap((n, i) => (n > 0 ? [i] : []));
    const ai = pick(candidates);
    remaining[ai] = (remaining[ai] as number) - 1;
    const feed = feeds[ai] as SignedEvent[];
    const last = feed[feed.length - 1];
    // Two consecutive steps share a wall, so different authors tie on HLC and the author breaks the tie.
    let hlc: Hlc = { wall: o.t0 + Math.floor(step / 2) * 1000, counter: 0 };
    if (last && hlc.wall <= last.hlc.wall) hlc = { wall: last.hlc.wall, counter: last.hlc.counter + 1 };

    const lag = random() < 0.5 ? 0 : 1 + Math.floor(random() * 25); // lagging authors race each other
    const r = random();
    let body: EventBody;
    let target: PlannedRecord | undefined;
    if (records.length === 0 || r < 0.22) {
      const n = records.length;
      const id = random() < 0.5
        ? `uuid:${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}` // Kobo/ODK instanceIDs: packed to 16 bytes on the wire
        : `rec-${n}`;
      target = { id: recordId(id), writes: [] };
      records.push(target);
      body = { kind: "upsert", record: target.id, type: recordType(pick(TYPES)), base: null, fields: fields(2 + Math.floor(random() * 3)) };
    } else {
      target = pick(records);
      const base = baseFor(target, step, lag);
      const type = recordType(random() < 0.05 ? pick(TYPES) : TYPES[target.id.length % TYPES.length]!);
      if (r < 0.8) body = { kind: "upsert", record: target.id, type, base, fields: fields(1 + Math.floor(random() * 2)) };
      else if (r < 0.9) body = { kind: "delete", record: target.id, type, base };
      else if (r < 0.97) {
        const hash = Buffer.alloc(32, step & 0xff);
        body = { kind: "attachment", record: target.id, type, field: pick(["photo", "sketch"]), hash, size: 1000 + step, mime: "image/jpeg" };
      } else {
        body = { kind: "unknown", code: 42, value: [step, "from a newer version"] };
        target = undefined;
      }
    }
    const ev = signEvent(signers[ai]!, { seq: feed.length + 1, prev: last ? last.id : null, hlc }, body);
    feed.push(ev);
    (writtenAt[ai] as number[]).push(step);
    target?.writes.push({ step, hlc });
  }

  // Deliveries: each feed cut into chunks of 1–6 events, in write order, with
  // some neighbouring chunks of one author swapped (the gap buffer holds the
  // later one), some chunks merged into multi-author batches, and a few
  // repeated (duplicates).
  interface Chunk { author: number; from: number; to: number; at: number }
  const chunks: Chunk[] = [];
  feeds.forEach((feed, author) => {
    const mine: Chunk[] = [];
    for (let s = 1; s <= feed.length; ) {
      const to = Math.min(feed.length, s + Math.floor(random() * 6));
      mine.push({ author, from: s, to, at: (writtenAt[author] as number[])[to - 1] as number });
      s = to + 1;
    }
    for (let k = 0; k + 1 < mine.length; k++) {
      if (random() < 0.25) {
        const a = mine[k] as Chunk;
        const b = mine[k + 1] as Chunk;
        mine[k] = { ...b, at: a.at };
        mine[k + 1] = { ...a, at: b.at };
        k++;
      }
    }
    chunks.push(...mine);
  });
  chunks.sort((x, y) => x.at - y.at || x.author - y.author);

  const steps: PlanStep[] = [];
  let localTarget = 0;
  const range = (c: Chunk) => Array.from({ length: c.to - c.from + 1 }, (_, i) => [c.author, c.from + i] as const);
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i] as Chunk;
    const f = random();
    if (f < 0.3) {
      steps.push({ kind: "deliver", form: "wire", items: range(c) });
    } else {
      const items = range(c);
      while (i + 1 < chunks.length && random() < 0.3) items.push(...range(chunks[++i] as Chunk));
      steps.push({ kind: "deliver", form: f < 0.65 ? "full" : "encoded", items });
    }
    if (random() < 0.04 && i > 3) steps.push({ kind: "deliver", form: "full", items: range(chunks[i - 3] as Chunk) });
    if (random() < 0.25) {
      localTarget += 1 + Math.floor(random() * 2);
      steps.push({ kind: "local", target: localTarget });
    }
  }

  return {
    authorSeeds: authorSeeds.map((s) => s.toString("hex")),
    localSeed: seedBytes(7).toString("hex"),
    feeds: feeds.map((feed) => feed.map((ev) => encodeSignedEvent(ev).toString("hex"))),
    records: records.map((r) => r.id),
    steps,
  };
}

export function loadPlan(file: PlanFile): Plan {
  const encoded = file.feeds.map((feed) => feed.map((hex) => Buffer.from(hex, "hex")));
  const feeds = encoded.map((feed) =>
    feed.map((bytes) => {
      const d = decodeSignedEvent(bytes);
      if (!d.ok) throw new Error(`plan holds an undecodable event: ${d.reason}`);
      return d.event;
    }),
  );
  return {
    file,
    authors: file.authorSeeds.map((hex) => signerFromSeed(Buffer.from(hex, "hex"))),
    local: signerFromSeed(Buffer.from(file.localSeed, "hex")),
    feeds,
    encoded,
    records: file.records.map((r) => recordId(r)),
  };
}

/** The plan event of author index `author` at `seq`. */
export function planEvent(plan: Plan, author: number, seq: number): SignedEvent {
  const ev = plan.feeds[author]?.[seq - 1];
  if (!ev) throw new Error(`plan has no event ${author}#${seq}`);
  return ev;
}

export function authorIndex(plan: Plan): Map<AuthorId, number> {
  return new Map(plan.authors.map((s, i) => [s.author, i]));
}

