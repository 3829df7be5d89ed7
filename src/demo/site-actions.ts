/**
 * What a simulated site's people do to its feed (a new or edited submission,
 * a deletion), each followed by telling the sync layer that the feed grew.
 * Shared by the in-memory and the LoRa simulations.
 */
import type { CborMap } from "../engine/cbor.js";
import type { SignedEvent } from "../engine/event.js";
import { recordId, recordType, type RecordId } from "../engine/ids.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";

export interface SiteActions {
  /** Records a new submission version at this site: only `fields` changed. */
  upsert(record: string, type: string, fields: CborMap): SignedEvent;
  remove(record: string, type: string): SignedEvent;
  /** Tells the sync layer that events were appended to the store directly (by a bridge). */
  announce(): void;
}

export function siteActions(store: SqliteStore, changed: () => void): SiteActions {
  function author<T>(make: () => T): T {
    const ev = make();
    changed();
    return ev;
  }
  function baseOf(record: RecordId) {
    const s = store.getRecord(record);
    return s ? { wall: s.lastWrite.wall, counter: s.lastWrite.counter } : null;
  }
  return {
    upsert: (record, type, fields) =>
      author(() => store.append({ kind: "upsert", record: recordId(record), type: recordType(type), base: baseOf(recordId(record)), fields })),
    remove: (record, type) =>
      author(() => store.append({ kind: "delete", record: recordId(record), type: recordType(type), base: baseOf(recordId(record)) })),
    announce: () => author(() => undefined),
  };
}
