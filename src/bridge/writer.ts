/**
 * Writes converged records back into the local server, exactly once each.
 *
 * The outbox is filled from the view's change sequence (so nothing is missed
 * across restarts). For each due entry a write is planned — the XML, the new
 * instanceID, what the local copy becomes — and persisted before it is sent,
 * so a retry after a crash or an outage sends the same bytes: Kobo answers
 * 202 to a byte-identical resubmission, and a landed edit is recognised by
 * its instanceID. A 409/410/404 means a person changed the submission
 * meanwhile: never retried blindly, the submission is re-read (a poll) and
 * the write planned again from the new state.
 *
 * Files ride with the plan (write-plan.ts): in the same multipart as the XML
 * for Kobo; for Central, once the XML has landed the plan becomes an
 * "attach" plan, persisted, that POSTs each file to the current version, so
 * a crash between the two uploads the files exactly once more (a re-POST of
 * the same file is harmless) and never sends the XML twice.
 */
import type { RecordId } from "../engine/ids.js";
import type { RecordState } from "../engine/record-state.js";
import type { Answers, LocalCopy, OutboxEntry, WritePlan } from "./bridge-store.js";
import { AUTH_PAUSE_MS, ENQUEUE_BATCH, RECHECK_DELAY_MS, REJECTED_PAUSE_MS, retryDelay, WRITE_BATCH, WRITE_CONCURRENCY } from "./constants.js";
import { noteSent, outgoingFiles, wakeArrived } from "./file-writer.js";
import type { CurrentVersion, LocalForm, OutgoingFile } from "./local-form.js";
import { answersToWrite } from "./record-translate.js";
import { valuesFromXml } from "./submission-values.js";
import type { FormContext } from "./form-context.js";
import { createGroupCommit, type GroupCommit } from "./group-commit.js";
import { fileDeps, planWrite, recordNeedsWrite, type PlanDeps, type Planned } from "./write-plan.js";
import { describeError, isTransient, ok, type Result, type UpstreamError } from "./upstream.js";
import { parseXml, XmlError } from "./xml.js";

export interface WriteStats {
  written: number;
  failed: number;
  /** Writes held back until a poll has read a person's change. */
  deferred: number;
}

export type WriterDeps = PlanDeps;

/** Where the writer of `source` stands in the view's change sequence (a bridge cursor). */
export const writeCursorKey = (source: string): string => `write:${source}`;

/** Queues `record` if the local server (whose copy is `copy`) lacks what the view says (`state`; undefined: gone); true if it did. */
function enqueueIfNeeded(d: FormContext, record: RecordId, state: RecordState | undefined, copy: LocalCopy | undefined): boolean {
  if (!recordNeedsWrite(d, state, copy)) return false;
  d.bridge.markDirty(d.form.source, record, d.now());
  return true;
}

/** Moves records the view changed since the writer's cursor into the outbox, if the local server lacks what they say. */
export function enqueueChanges(d: WriterDeps): number {
  const { store, bridge, mapping } = d;
  const key = writeCursorKey(d.form.source);
  let queued = 0;
  for (;;) {
    const after = bridge.cursor<number>(key) ?? 0;
    const batch = store.changedRecords(after, ENQUEUE_BATCH, [mapping.type]);
    if (batch.length === 0) return queued;
    store.atomically(() => {
      // A record gone from the view (state null) asks, like a deleted one, that the server's copy go.
      for (const { record, state } of batch) if (enqueueIfNeeded(d, record, state ?? undefined, bridge.local(d.form.source, record))) queued += 1;
      bridge.setCursor(key, batch[batch.length - 1]!.change);
    });
  }
}

/** A record the poller appended an event for: the local copy it stored and the view state the event gave (store.appendRead). */
export interface OwnChange {
  readonly copy: LocalCopy;
  readonly state: RecordState | undefined;
}

/**
 * Call inside the transaction in which the poller appended events for
 * `records` (with the local copies and view states they now have), and only if the
 * writer's cursor stood at `before`, the end of the change sequence, when it
 * began: those appends made every change since, so this does exactly what
 * enqueueChanges would do next, without reading each record back from the
 * change log. Moves the writer's cursor past them.
 */
export function enqueueOwnChanges(d: FormContext, before: number, records: ReadonlyMap<RecordId, OwnChange>): void {
  const { store, bridge, mapping } = d;
  const key = writeCursorKey(d.form.source);
  if ((bridge.cursor<number>(key) ?? 0) !== before) return;
  for (const [record, { copy, state }] of records) {
    if (state && state.type === mapping.type) enqueueIfNeeded(d, record, state, copy);
  }
  bridge.setCursor(key, store.viewChangeSeq());
}

/** True if the plan's files go in this request (Kobo's multipart, or Central's attach step). */
const carriesFiles = (form: LocalForm, p: WritePlan): boolean => p.files.length > 0 && (p.action === "attach" || !form.filesApart);

async function sendPlan(form: LocalForm, record: RecordId, p: WritePlan, files: readonly OutgoingFile[]): Promise<Result<unknown>> {
  switch (p.action) {
    case "create":
      return form.create(record, p.body!, files);
    case "edit":
      return form.edit(record, p.localKey!, p.body!, files);
    case "delete":
      return form.remove(record, p.localKey ?? "");
    case "attach":
      for (const f of files) {
        const r = await form.attach(record, p.localKey!, f);
        if (!r.ok) return r;
      }
      return ok(undefined);
  }
}

/** Records a landed write (in the pass's next group commit); returns the follow-up plan when files still go apart (Central), persisted as pending. */
function landed(d: WriterDeps, gc: GroupCommit, e: OutboxEntry, p: WritePlan): Promise<WritePlan | null> {
  const { store, bridge, form } = d;
  const now = d.now();
  return gc.run(() => {
    const localKey = p.localKey ?? (form.source.startsWith("odk:") ? e.record : "");
    const instanceId = p.instanceId ?? bridge.local(form.source, e.record)?.instanceId ?? "";
    bridge.putLocal(form.source, { record: e.record, localKey, instanceId, answers: p.answers, deleted: p.action === "delete" });
    if (carriesFiles(form, p)) noteSent(fileDeps(d), e.record, p.files, instanceId);
    else if (p.files.length > 0) {
      const next: WritePlan = { action: "attach", instanceId, deprecatedId: null, localKey, body: null, answers: p.answers, change: p.change, files: p.files };
      bridge.setPlan(form.source, e.record, next, now);
      return next;
    }
    bridge.markWritten(form.source, e.record, now);
    if (recordNeedsWrite(d, store.getRecord(e.record), bridge.local(form.source, e.record))) bridge.markDirty(form.source, e.record, now);
    return null;
  });
}

/** After a 409/410/404: did our write land before (a retry after a lost answer), or did a person get there first? */
async function resolveConflict(d: WriterDeps, e: OutboxEntry, p: WritePlan, err: UpstreamError): Promise<"landed" | "raced" | UpstreamError> {
  const cur = await d.form.current(e.record, p.localKey);
  if (!cur.ok) return cur.error;
  // An attach refused (404: the current version does not name the file) is never "ours": the copy is stale, re-read it.
  const isOurs = p.action === "delete" ? cur.value === null : p.action !== "attach" && cur.value?.instanceId === p.instanceId;
  if (isOurs && p.action === "create") {
    // The record's own instanceID: ours only if it holds our answers. Otherwise it is a submission from before (one restored
    // after its answer was lost, one a restored backup's copies do not know): it becomes the local copy, and is edited.
    const held = answersOf(d, cur.value!);
    if (held !== null && answersToWrite(p.answers, held).size === 0) return "landed";
    const v = cur.value!;
    if (held !== null) d.bridge.putLocal(d.form.source, { record: e.record, localKey: v.localKey, instanceId: v.instanceId, answers: held, deleted: false });
  } else if (isOurs) return "landed";
  if (p.action === "create" && err.kind === "rejected" && err.status === 409 && cur.value === null) {
    // A 409 says the server holds this record id, yet it shows no submission: our create landed unheard and a person has deleted it
    // since (Central keeps a deleted submission's instanceID and refuses it again). Settle the write as landed; the poll
    // asked for here finds the deletion and makes it this site's change, as for any deletion a person makes.
    d.requestPoll();
    return "landed";
  }
  const now = d.now();
  d.store.atomically(() => {
    d.bridge.clearPlan(d.form.source, e.record, now);
    d.bridge.setState(d.form.source, e.record, "pending", e.attempts + 1, now + RECHECK_DELAY_MS,
      `the submission changed on the server meanwhile (${describeError(err)}); re-reading it before writing again`, now);
  });
  d.requestPoll();
  return "raced";
}

/** The mapped answers of a server version's XML (null if it cannot be read). */
function answersOf(d: WriterDeps, v: CurrentVersion): Answers | null {
  try {
    return valuesFromXml(d.mapping.schema, parseXml(v.xml));
  } catch (err) {
    if (err instanceof XmlError) return null;
    throw err;
  }
}

function isConflict(e: UpstreamError): boolean {
  return e.kind === "rejected" && (e.status === 409 || e.status === 410 || (e.status === 404 && e.code !== 404.6));
}

function recordFailure(d: WriterDeps, e: OutboxEntry, err: UpstreamError, keepPlan: boolean): void {
  const now = d.now();
  const attempts = e.attempts + 1;
  let wait = retryDelay(attempts);
  let reason = describeError(err);
  if (err.kind === "auth") {
    wait = AUTH_PAUSE_MS;
    reason += `; check the credentials for ${d.form.describe} and that the account may add and edit submissions`;
  } else if (!isTransient(err)) wait = REJECTED_PAUSE_MS;
  d.store.atomically(() => {
    if (!keepPlan) d.bridge.clearPlan(d.form.source, e.record, now);
    d.bridge.setState(d.form.source, e.record, "failed", attempts, now + wait, reason, now);
  });
}

/** Plans the write of `e`'s record; a submission XML that cannot be read is a failure, not a crash. */
async function computePlan(d: WriterDeps, e: OutboxEntry): Promise<Result<Planned>> {
  try {
    return await planWrite(d, e.record);
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    return { ok: false, error: { kind: "bad-response", message: `${d.form.describe}: the submission's XML: ${err.message}` } };
  }
}

/** Stores what planning `e` gave; returns the plan to send, if any. */
function keepPlan(d: WriterDeps, e: OutboxEntry, planned: Result<Planned>, stats: WriteStats): WritePlan | null {
  if (!planned.ok) return void (recordFailure(d, e, planned.error, false), (stats.failed += 1)), null;
  if (planned.value === "wait") return void (stats.deferred += 1), null;
  if (planned.value === "nothing") return void d.bridge.markWritten(d.form.source, e.record, d.now()), null;
  d.bridge.setPlan(d.form.source, e.record, planned.value, d.now());
  return planned.value;
}

/**
 * Plans every due entry that has none yet (a retry keeps its plan, so it
 * sends the same bytes), WRITE_CONCURRENCY at a time, then stores all the
 * plans in one transaction (one disk wait) before any of them is sent.
 */
async function planAll(d: WriterDeps, due: readonly OutboxEntry[], stats: WriteStats): Promise<[OutboxEntry, WritePlan][]> {
  const fresh = due.filter((e) => !e.plan);
  const planned: Result<Planned>[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < fresh.length) {
      const i = next++;
      planned[i] = await computePlan(d, fresh[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, fresh.length) }, lane));
  const out: [OutboxEntry, WritePlan][] = due.filter((e) => e.plan).map((e) => [e, e.plan!]);
  d.store.atomically(() => {
    fresh.forEach((e, i) => {
      const plan = keepPlan(d, e, planned[i]!, stats);
      if (plan) out.push([e, plan]);
    });
  });
  return out;
}

/** Sends one plan; returns the follow-up plan to send next (Central's files after the XML), or null when done or failed. */
async function sendOne(d: WriterDeps, gc: GroupCommit, e: OutboxEntry, plan: WritePlan, stats: WriteStats): Promise<WritePlan | null> {
  const files = carriesFiles(d.form, plan) ? outgoingFiles(d.store, plan.files) : [];
  if ("missing" in files) {
    // The plan named bytes the blob store no longer has: plan again from what is here now.
    const now = d.now();
    d.store.atomically(() => {
      d.bridge.clearPlan(d.form.source, e.record, now);
      d.bridge.setState(d.form.source, e.record, "pending", e.attempts + 1, now + RECHECK_DELAY_MS, `the bytes of ${files.missing} are no longer held here; planning the write again from what this site holds (nothing to do)`, now);
    });
    return null;
  }
  const sent = await sendPlan(d.form, e.record, plan, files);
  let outcome: "landed" | "raced" | UpstreamError = sent.ok ? "landed" : sent.error;
  if (!sent.ok && isConflict(sent.error)) outcome = await resolveConflict(d, e, plan, sent.error);
  if (outcome === "landed") {
    const next = await landed(d, gc, e, plan);
    if (!next) stats.written += 1;
    return next;
  }
  if (outcome === "raced") stats.deferred += 1;
  else {
    const conflict = !sent.ok && isConflict(sent.error);
    recordFailure(d, e, outcome, conflict || isTransient(outcome) || outcome.kind === "auth");
    stats.failed += 1;
  }
  return null;
}

/**
 * One write pass over one form: fill the outbox, plan what is due, then
 * send it WRITE_CONCURRENCY records at a time (each entry is one record, so
 * writes in flight never touch the same submission). What landed is
 * recorded by group commit (group-commit.ts).
 */
export async function writeForm(d: WriterDeps): Promise<WriteStats> {
  wakeArrived(fileDeps(d), (record) => d.bridge.markDirty(d.form.source, record, d.now()));
  enqueueChanges(d);
  const stats: WriteStats = { written: 0, failed: 0, deferred: 0 };
  const toSend = await planAll(d, d.bridge.due(d.form.source, d.now(), WRITE_BATCH), stats);
  const gc = createGroupCommit(d.store);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < toSend.length) {
      const [e, first] = toSend[next++]!;
      for (let plan: WritePlan | null = first; plan; ) plan = await sendOne(d, gc, e, plan, stats);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, toSend.length) }, lane));
  return stats;
}
