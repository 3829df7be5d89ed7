/**
 * Sites for the bundle tests: SQLite file stores in a temp dir, each with its
 * own identity, all members of one network, with helpers to write events,
 * carry them between sites (standing in for the radio) and compare stores.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { generateSigner, type Signer } from "../../src/engine/crypto.js";
import { signEvent, type SignedEvent } from "../../src/engine/event.js";
import type { EventId, RecordId, RecordType } from "../../src/engine/ids.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import type { BundleProgress } from "../../src/bundle/index.js";

export const NETWORK = "kaduna-wash";
export const KEY = new Uint8Array(randomBytes(32));

export interface Site {
  readonly name: string;
  readonly signer: Signer;
  readonly store: SqliteStore;
}

const T = "household" as RecordType;

/** Opens a site's store in `dir`; members are added by `joinNetwork`. */
export function openSite(dir: string, name: string, signer: Signer = generateSigner().signer): Site {
  return { name, signer, store: openStore({ path: join(dir, `${name}.db`), signer, durability: "normal", verifyPool: null }) };
}

/** Makes every site a member at every site. */
export function joinNetwork(sites: readonly Site[]): void {
  for (const s of sites) for (const other of sites) if (other !== s) s.store.addMember(other.signer.author, other.name);
}

/** Appends `n` upserts at `site` (about a third of them edits of its earlier records). */
export function writeEvents(site: Site, n: number): void {
  for (let i = 0; i < n; i++) {
    const rec = `uuid:${site.name}-${i % 3 === 2 ? i - 2 : i}` as RecordId;
    site.store.append({ kind: "upsert", record: rec, type: T, base: null, fields: { village: `v${i % 7}`, hh_size: i % 11, by: site.name } });
  }
}

/** Copies `from`'s events of `author` up to `to` into `into` (as the radio would). */
export function carry(from: Site, into: Site, author: Site, to = from.store.headSeq(author.signer.author)): void {
  const events = from.store.readEvents(author.signer.author, into.store.headSeq(author.signer.author) + 1, to);
  const r = into.store.ingest(events);
  assert.equal(r.applied, events.length, `carry ${author.name} ${from.name}→${into.name}: ${JSON.stringify(r.refused)}`);
}

/** Signs `n` upserts of `signer`'s feed without a store (fast setup for large feeds). */
export function* signedFeed(signer: Signer, n: number, startWall: number): Generator<SignedEvent> {
  let prev: EventId | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const body = { kind: "upsert" as const, record: `uuid:${signer.author.slice(0, 8)}-${seq}` as RecordId, type: T, base: null, fields: { n: seq, village: `v${seq % 13}` } };
    const ev = signEvent(signer, { seq, prev, hlc: { wall: startWall + seq, counter: 0 } }, body);
    prev = ev.id;
    yield ev;
  }
}

export const frontierOf = (s: Site): Record<string, number> => Object.fromEntries([...s.store.frontier()].sort());

/** Asserts two sites hold the same events and the same view. */
export function assertSameState(a: Site, b: Site): void {
  assert.deepEqual(frontierOf(b), frontierOf(a), `${b.name} and ${a.name} hold different feeds`);
  assert.ok(b.store.viewBytes().equals(a.store.viewBytes()), `${b.name} and ${a.name} have different views`);
}

/** Collects progress reports and checks, per phase, that they never go back and end at the total. */
export function progressLog(): { onProgress: (p: BundleProgress) => void; phases: Map<string, BundleProgress[]>; assertComplete(phase: string): void } {
  const phases = new Map<string, BundleProgress[]>();
  return {
    phases,
    onProgress: (p) => {
      const list = phases.get(p.phase) ?? [];
      list.push(p);
      phases.set(p.phase, list);
    },
    assertComplete(phase) {
      const list = phases.get(phase) ?? [];
      assert.ok(list.length > 0, `no ${phase} progress`);
      for (let i = 1; i < list.length; i++) {
        const [a, b] = [list[i - 1] as BundleProgress, list[i] as BundleProgress];
        assert.ok(b.events >= a.events && b.bytes >= a.bytes, `${phase} progress went back: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
      }
      const last = list.at(-1) as BundleProgress;
      if (last.totalEvents !== null) assert.equal(last.events, last.totalEvents, `${phase} progress ends short of its total`);
      if (last.totalBytes !== null) assert.equal(last.bytes, last.totalBytes, `${phase} progress ends short of the file`);
    },
  };
}
