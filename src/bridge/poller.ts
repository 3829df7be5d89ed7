/**
 * Turns what changed on the local server into events. Each page of changes
 * commits in one transaction with the local copies and the cursor, so a
 * crash repeats at most a page, and a repeated version is recognised as
 * unchanged (same instanceID) rather than sent twice.
 *
 * A version is one of:
 * - unchanged: the local copy already has its instanceID;
 * - an echo: the instanceID our own outbox planned (our write, polled back):
 *   the copy is updated, the outbox entry settled, no event;
 * - a change: a person's new submission or edit: one upsert with only the
 *   fields that differ from the local copy.
 *
 * Under an attachment policy, an echo or a change whose replicating answers
 * name files is queued (in the same transaction) for file-poller.ts, which
 * reads those files after the pass and appends their attachment events.
 */
import type { FormContext } from "./form-context.js";
import { isAlive, type RecordState } from "../engine/record-state.js";
import type { Hlc } from "../engine/hlc.js";
import type { RecordId } from "../engine/ids.js";
import type { LocalCopy } from "./bridge-store.js";
import { pollFiles, wantsFileCheck, type FilePollStats } from "./file-poller.js";
import { noteSent } from "./file-writer.js";
import type { ObservedVersion, PollItem } from "./local-form.js";
import { changedFields, SUBMITTED_FIELD } from "./record-translate.js";
import { fileDeps, recordNeedsWrite } from "./write-plan.js";
import { enqueueOwnChanges, type OwnChange } from "./writer.js";
import { ok, type Result } from "./upstream.js";

export interface PollStats {
  /** Versions looked at. */
  seen: number;
  /** Upserts and deletes appended to this site's feed. */
  events: number;
  /** Our own writes recognised when polled back. */
  echoes: number;
  /** The attachment half of the pass. */
  files: FilePollStats | null;
}

export interface PollerDeps extends FormContext {
  /** The network's key for fields sent as a hash only (null: none configured). */
  readonly hashKey: Uint8Array | null;
}

/** The newest write of the record this site has applied: what the new event was made on top of. */
function baseOf(state: RecordState | undefined): Hlc | null {
  return state ? { wall: state.lastWrite.wall, counter: state.lastWrite.counter } : null;
}

/** The outbox entry planned exactly this: our write landed. Settle it (a newer change, or files still to attach, may need another write). */
function settle(d: PollerDeps, record: RecordId): void {
  const { bridge, form, store } = d;
  const plan = bridge.outbox(form.source, record)?.plan;
  // Kobo took the plan's files in the same request as the version we now see.
  if (plan && plan.instanceId && !form.filesApart && plan.action !== "attach") noteSent(fileDeps(d), record, plan.files, plan.instanceId);
  bridge.markWritten(form.source, record, d.now());
  if (recordNeedsWrite(d, store.getRecord(record), bridge.local(form.source, record))) bridge.markDirty(form.source, record, d.now());
}

/** What one page did: its tallies, and the records it appended events for, with their local copies and view states as they now are. */
interface PageTally {
  readonly stats: PollStats;
  readonly appended: Map<RecordId, OwnChange>;
}

/** Stores a local copy, keeping the page's view of it current. */
function putCopy(d: PollerDeps, tally: PageTally, copy: LocalCopy): void {
  d.bridge.putLocal(d.form.source, copy);
  const own = tally.appended.get(copy.record);
  if (own) tally.appended.set(copy.record, { ...own, copy });
}

function takeVersion(d: PollerDeps, v: ObservedVersion, tally: PageTally): void {
  const { bridge, form, store, mapping } = d;
  const { stats } = tally;
  stats.seen += 1;
  const copy = bridge.local(form.source, v.record);
  const live = copy !== undefined && !copy.deleted;
  if (live && copy.instanceId === v.instanceId) {
    if (copy.localKey !== v.localKey) putCopy(d, tally, { ...copy, localKey: v.localKey });
    return;
  }
  const taken: LocalCopy = { record: v.record, localKey: v.localKey, instanceId: v.instanceId, answers: v.answers, deleted: false };
  putCopy(d, tally, taken);
  if (wantsFileCheck(mapping, v.answers)) d.files.queueCheck(form.source, v.record, v.files ?? null);
  const planned = bridge.outbox(form.source, v.record)?.plan;
  if (planned && planned.instanceId === v.instanceId) {
    stats.echoes += 1;
    settle(d, v.record);
    return;
  }
  const known = store.getRecord(v.record);
  // A copy of a record gone from the view (its only writes were voided) is no base: the version is a new record.
  const before = live && known ? copy.answers : undefined;
  const fields = changedFields(mapping, before, v.answers, d.hashKey);
  if (!known && v.submittedAt) fields[SUBMITTED_FIELD] = v.submittedAt;
  // A version with no mapped change (a field we do not replicate was edited) still revives a record deleted elsewhere.
  if (Object.keys(fields).length === 0 && known && isAlive(known)) return;
  const { state } = store.appendRead({ kind: "upsert", record: v.record, type: mapping.type, base: baseOf(known), fields });
  tally.appended.set(v.record, { copy: taken, state });
  stats.events += 1;
}

function takeGone(d: PollerDeps, localKey: string, record: RecordId, tally: PageTally): void {
  const { bridge, form, store, mapping } = d;
  const { stats } = tally;
  const copy = bridge.local(form.source, record);
  if (!copy || copy.deleted) return;
  const gone: LocalCopy = { ...copy, deleted: true, localKey };
  putCopy(d, tally, gone);
  const planned = bridge.outbox(form.source, record)?.plan;
  if (planned?.action === "delete") {
    stats.echoes += 1;
    settle(d, record);
    return;
  }
  const known = store.getRecord(record);
  if (!known || !isAlive(known)) return; // already deleted in the converged view, or gone from it
  const { state } = store.appendRead({ kind: "delete", record, type: mapping.type, base: baseOf(known) });
  tally.appended.set(record, { copy: gone, state });
  stats.events += 1;
}

/** One poll pass over one form. Returns what it did; a failure leaves everything committed so far in place. */
export async function pollForm(d: PollerDeps): Promise<Result<PollStats>> {
  const { bridge, form, store } = d;
  const key = `poll:${form.source}`;
  const stats: PollStats = { seen: 0, events: 0, echoes: 0, files: null };
  const onPage = (items: readonly PollItem[], cursor?: unknown): void => {
    store.atomically(() => {
      const before = store.viewChangeSeq();
      const tally: PageTally = { stats, appended: new Map() };
      let byKey: Map<string, { record: RecordId }> | undefined;
      for (const it of items) {
        if (it.kind === "version") takeVersion(d, it.version, tally);
        else {
          byKey ??= bridge.liveLocalKeys(form.source);
          const rec = it.record ?? byKey.get(it.localKey)?.record;
          if (rec) takeGone(d, it.localKey, rec, tally);
        }
      }
      if (tally.appended.size > 0) enqueueOwnChanges(d, before, tally.appended);
      if (cursor !== undefined) bridge.setCursor(key, cursor);
    });
  };
  const result = await form.poll(bridge.cursor(key), {
    onPage,
    known: () => bridge.liveLocalKeys(form.source),
    unkeyed: () => bridge.unkeyedRecords(form.source),
  });
  if (!result.ok) return result;
  store.atomically(() => bridge.setCursor(key, result.value));
  stats.files = await pollFiles(d);
  return ok(stats);
}
