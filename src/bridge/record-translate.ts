/**
 * Between a form's answers (by local path) and a record's fields (by shared
 * name): what an observed submission version changes, with the radio policy
 * applied, and what the converged record asks the local server to hold.
 */
import { createHmac } from "node:crypto";
import { encodeCanonical, isCborMap, type CborMap, type CborValue } from "../engine/cbor.js";
import { isAlive, type RecordState } from "../engine/record-state.js";
import type { Answers, LocalCopy } from "./bridge-store.js";
import type { ResolvedMapping } from "./mapping.js";

/** Reserved field: when the origin server first received the record (ISO 8601), so a new copy keeps its capture time. */
export const SUBMITTED_FIELD = "@submitted";

/** Key of the one-entry map that stands for a hashed value ("hash" radio policy). Never a form value: top-level answers are not maps. */
export const HASH_MARK = "#h";

/** Bytes of a field hash: enough to tell values apart, too few to be worth storing as a value. */
const HASH_BYTES = 16;

/** Structural equality of two values (what their canonical encodings would say, without encoding them). */
export function sameValue(a: CborValue | undefined, b: CborValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
}

export function isHashed(v: CborValue): boolean {
  return isCborMap(v) && Object.keys(v).length === 1 && v[HASH_MARK] instanceof Uint8Array;
}

/** A field's hash, keyed by the network's shared secret and the field's shared name. */
export function hashValue(key: Uint8Array, shared: string, v: CborValue): CborMap {
  const h = createHmac("sha256", key).update(shared).update(Buffer.from([0])).update(encodeCanonical(v)).digest();
  return { [HASH_MARK]: new Uint8Array(h.subarray(0, HASH_BYTES)) };
}

/**
 * The fields of the upsert for a new submission version: every mapped unit
 * whose answer differs from `before` (an answer that disappeared becomes
 * null), by shared name, "never" units left out and "hash" units hashed.
 * `before` is undefined for a record this site has not seen locally.
 */
export function changedFields(
  m: ResolvedMapping,
  before: Answers | undefined,
  after: Answers,
  hashKey: Uint8Array | null,
): CborMap {
  const out: CborMap = {};
  for (const u of m.units) {
    if (u.radio === "never") continue;
    const now = after.get(u.local);
    const was = before?.get(u.local);
    if (before === undefined ? now === undefined : sameValue(now ?? null, was ?? null)) continue;
    const v = now ?? null;
    if (u.radio === "hash") {
      if (!hashKey) throw new Error(`field '${u.local}' has radio policy "hash" but no hash_key is configured`);
      out[u.shared] = v === null ? null : hashValue(hashKey, u.shared, v);
    } else out[u.shared] = v;
  }
  return out;
}

/**
 * What the converged record asks of the local form: for each mapped unit the
 * record has a value for, that value (null = empty), by local path. Hashed
 * values cannot be written back and are left out, as are units the record
 * says nothing about (the local answer stays), and units this site never
 * sends: they are local-only here, so another site's value must not
 * overwrite what a person entered at this one.
 */
export function desiredAnswers(m: ResolvedMapping, state: RecordState): Answers {
  const out: Answers = new Map();
  for (const u of m.units) {
    if (u.radio === "never") continue;
    const f = state.fields.get(u.shared);
    if (f === undefined || (f.value !== null && isHashed(f.value))) continue;
    out.set(u.local, f.value);
  }
  return out;
}

/** The answers in `desired` that differ from what the local copy holds. */
export function answersToWrite(desired: Answers, copy: Answers): Answers {
  const out: Answers = new Map();
  for (const [path, v] of desired) if (!sameValue(v ?? null, copy.get(path) ?? null)) out.set(path, v);
  return out;
}

/** The local copy's answers after writing `changes` (null removes an answer). */
export function overlay(copy: Answers, changes: Answers): Answers {
  const out = new Map(copy);
  for (const [path, v] of changes) {
    if (v === null) out.delete(path);
    else out.set(path, v);
  }
  return out;
}

/**
 * True if the local server does not yet hold what the converged record says.
 * No state: the record is not in the view (it left it when the only events
 * that wrote it were voided), so a live copy on the server is to go, as for
 * a deleted record.
 */
export function needsWrite(m: ResolvedMapping, state: RecordState | undefined, copy: LocalCopy | undefined): boolean {
  const live = copy !== undefined && !copy.deleted;
  if (!state || !isAlive(state)) return live;
  if (!live) return true;
  return answersToWrite(desiredAnswers(m, state), copy.answers).size > 0;
}
