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
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { RecordId } from "../engine/ids.js";
import type { BridgeFiles } from "./bridge-files.js";
import type { BridgeStore, OutboxEntry, WritePlan } from "./bridge-store.js";
import { AUTH_PAUSE_MS, ENQUEUE_BATCH, RECHECK_DELAY_MS, REJECTED_PAUSE_MS, retryDelay, WRITE_BATCH, WRITE_CONCURRENCY } from "./constants.js";
import { noteSent, outgoingFiles, wakeArrived } from "./file-writer.js";
import type { LocalForm, OutgoingFile } from "./local-form.js";
import type { ResolvedMapping } from "./mapping.js";
import { fileDeps, planWrite, recordNeedsWrite, type Planned } from "./write-plan.js";
import { describeError, isTransient, ok, type Result, type UpstreamError } from "./upstream.js";
import { XmlError } from "./xml.js";

export interface WriteStats {
  written: number;
  failed: number;
  /** Writes held back until a poll has read a person's change. */
  deferred: number;
}

export interface WriterDeps {
  readonly store: SqliteStore;
  readonly bridge: BridgeStore;
  readonly files: BridgeFiles;
  readonly mapping: ResolvedMapping;
  readonly form: LocalForm;
  readonly now: () => number;
  /** Asks for a poll of this form before the next write pass. */
  readonly requestPoll: () => void;
}

/** Moves records the view changed since the writer's cursor into the outbox, if the local server lacks what they say. */
export function enqueueChanges(d: WriterDeps): number {
  const { store, bridge, mapping, form } = d;
  const key = `write:${form.source}`;
  let queued = 0;
  for (;;) {
    const after = bridge.cursor<number>(key) ?? 0;
    const batch = store.changedRecords(after, ENQUEUE_BATCH, [mapping.type]);
    if (batch.length === 0) return queued;
    store.atomically(() => {
      // A record gone from the view (state null) asks, like a deleted one, that the server's copy go.
      for (const { record, state } of batch) {
        if (recordNeedsWrite(d, state ?? undefined, bridge.local(form.source, record))) {
          bridge.markDirty(form.source, record, d.now());
          queued += 1;
        }
      }
      bridge.setCursor(key, batch[batch.length - 1]!.change);
    });
  }
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

/** Records a landed write; returns the follow-up plan when files still go apart (Central), persisted as pending. */
function landed(d: WriterDeps, e: OutboxEntry, p: WritePlan): WritePlan | null {
  const { store, bridge, form } = d;
  const now = d.now();
  return store.atomically(() => {
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
  if (isOurs) return "landed";
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

/** Makes the entry's plan, unless it has one already (a retry sends the same bytes). */
async function ensurePlan(d: WriterDeps, e: OutboxEntry, stats: WriteStats): Promise<WritePlan | null> {
  if (e.plan) return e.plan;
  let planned: Result<Planned>;
  try {
    planned = await planWrite(d, e.record);
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    planned = { ok: false, error: { kind: "bad-response", message: `${d.form.describe}: the submission's XML: ${err.message}` } };
  }
  if (!planned.ok) return void (recordFailure(d, e, planned.error, false), (stats.failed += 1)), null;
  if (planned.value === "wait") return void (stats.deferred += 1), null;
  if (planned.value === "nothing") return void d.bridge.markWritten(d.form.source, e.record, d.now()), null;
  d.bridge.setPlan(d.form.source, e.record, planned.value, d.now());
  return planned.value;
}

/** Sends one plan; returns the follow-up plan to send next (Central's files after the XML), or null when done or failed. */
async function sendOne(d: WriterDeps, e: OutboxEntry, plan: WritePlan, stats: WriteStats): Promise<WritePlan | null> {
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
    const next = landed(d, e, plan);
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

async function processEntry(d: WriterDeps, e: OutboxEntry, stats: WriteStats): Promise<void> {
  let plan = await ensurePlan(d, e, stats);
  while (plan) plan = await sendOne(d, e, plan, stats);
}

/**
 * One write pass over one form: fill the outbox, then write what is due,
 * WRITE_CONCURRENCY records at a time (each entry is one record, so writes in
 * flight never touch the same submission).
 */
export async function writeForm(d: WriterDeps): Promise<WriteStats> {
  wakeArrived(fileDeps(d), (record) => d.bridge.markDirty(d.form.source, record, d.now()));
  enqueueChanges(d);
  const stats: WriteStats = { written: 0, failed: 0, deferred: 0 };
  const due = d.bridge.due(d.form.source, d.now(), WRITE_BATCH);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < due.length) await processEntry(d, due[next++]!, stats);
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, due.length) }, lane));
  return stats;
}
