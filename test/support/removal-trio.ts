/**
 * Three sites for removal tests: each a store with its own identity and the
 * other two as members, helpers to write a record, and the view a store would
 * have if it folded the events it holds from scratch.
 */
import { generateSigner, type Signer } from "../../src/engine/crypto.js";
import type { SignedEvent } from "../../src/engine/event.js";
import { recordId, recordType } from "../../src/engine/ids.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { encodeView, foldEvents } from "../../src/engine/view.js";

/** Three identities, each a member of the others' stores: in memory, or store i at `pathOf(i)`. */
export function trio(pathOf?: (i: number) => string): { signers: Signer[]; stores: SqliteStore[] } {
  const signers = [0, 1, 2].map(() => generateSigner().signer);
  const stores = signers.map((s, i) => openStore({ path: pathOf?.(i) ?? ":memory:", signer: s, verifyPool: null }));
  stores.forEach((st, i) => signers.forEach((s, j) => j !== i && st.addMember(s.author)));
  return { signers, stores };
}

/** Appends an upsert of `record` (type "t") on top of what `store` holds of it. */
export function upsert(store: SqliteStore, record: string, fields: Record<string, number>): SignedEvent {
  const base = store.getRecord(recordId(record))?.lastWrite ?? null;
  return store.append({ kind: "upsert", record: recordId(record), type: recordType("t"), base: base && { wall: base.wall, counter: base.counter }, fields });
}

/** The view `store` would hold if it folded the events it holds from scratch. */
export function refold(store: SqliteStore): Buffer {
  const f = foldEvents([...store.frontier()].flatMap(([a, seq]) => store.readEvents(a, 1, seq)));
  return encodeView(f.records.values(), f.conflicts.values());
}
