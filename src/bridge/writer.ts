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
 */
import { randomUUID } from "node:crypto";
import { isAlive } from "../engine/record-state.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { RecordId } from "../engine/ids.js";
import type { BridgeStore, OutboxEntry, WritePlan } from "./bridge-store.js";
import { AUTH_PAUSE_MS, ENQUEUE_BATCH, RECHECK_DELAY_MS, REJECTED_PAUSE_MS, retryDelay, WRITE_BATCH, WRITE_CONCURRENCY } from "./constants.js";
import type { LocalForm } from "./local-form.js";
import type { ResolvedMapping } from "./mapping.js";
import { answersToWrite, desiredAnswers, needsWrite, overlay, SUBMITTED_FIELD } from "./record-translate.js";
import { buildSubmissionXml, setMeta, writeValuesToXml } from "./submission-values.js";
import { describeError, isTransient, ok, type Result, type UpstreamError } from "./upstream.js";
import { parseXml, serializeXml, XmlError } from "./xml.js";

export interface WriteStats {
  written: number;
  failed: number;
  /** Writes held back until a poll has read a person's change. */
  deferred: number;
}

export interface WriterDeps {
  readonly store: SqliteStore;
  readonly bridge: BridgeStore;
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
      for (const { state } of batch) {
        if (needsWrite(mapping, state, bridge.local(form.source, state.record))) {
          bridge.markDirty(form.source, state.record, d.now());
          queued += 1;
        }
      }
      bridge.setCursor(key, batch[batch.length - 1]!.change);
    });
  }
}

type Planned = WritePlan | "nothing" | "wait";

async function planWrite(d: WriterDeps, record: RecordId): Promise<Result<Planned>> {
  const { store, bridge, mapping, form } = d;
  const state = store.getRecord(record);
  const copy = bridge.local(form.source, record);
  const change = store.viewChangeSeq();
  if (!state || !needsWrite(mapping, state, copy)) return ok("nothing");
  if (!isAlive(state)) {
    return ok({ action: "delete", instanceId: null, deprecatedId: null, localKey: copy!.localKey, body: null, answers: copy!.answers, change });
  }
  const desired = desiredAnswers(mapping, state);
  let live = copy && !copy.deleted ? copy : undefined;
  if (copy?.deleted) {
    // A later edit outran a delete: where deletion is soft (Central), bring the submission back and edit it.
    const restored = await form.restore(record, copy.localKey);
    if (!restored.ok && !(restored.error.kind === "rejected" && restored.error.status === 404)) return restored;
    if (restored.ok && restored.value === "restored") {
      live = { ...copy, deleted: false };
      bridge.putLocal(form.source, live);
    }
  }
  if (live) {
    const cur = await form.current(record, live.localKey);
    if (!cur.ok) return cur;
    if (cur.value === null || cur.value.instanceId !== live.instanceId) {
      d.requestPoll(); // a person edited or deleted it and the poller has not seen that yet
      return ok("wait");
    }
    const changes = answersToWrite(desired, live.answers);
    const root = parseXml(cur.value.xml);
    writeValuesToXml(mapping.schema, root, changes);
    const instanceId = `uuid:${randomUUID()}`;
    setMeta(mapping.schema, root, { instanceId, deprecatedId: cur.value.instanceId, rootUuid: record });
    return ok({
      action: "edit", instanceId, deprecatedId: cur.value.instanceId, localKey: cur.value.localKey, body: serializeXml(root),
      answers: overlay(live.answers, changes), change,
    });
  }
  const answers = new Map([...desired].filter(([, v]) => v !== null));
  const submitted = state.fields.get(SUBMITTED_FIELD)?.value;
  const body = buildSubmissionXml(mapping.schema, answers, {
    instanceId: record,
    rootUuid: record,
    submissionDate: typeof submitted === "string" ? submitted : undefined,
  });
  return ok({ action: "create", instanceId: record, deprecatedId: null, localKey: copy?.localKey ?? null, body, answers, change });
}

function sendPlan(form: LocalForm, record: RecordId, p: WritePlan): Promise<Result<unknown>> {
  switch (p.action) {
    case "create":
      return form.create(record, p.body!);
    case "edit":
      return form.edit(record, p.localKey!, p.body!);
    case "delete":
      return form.remove(record, p.localKey ?? "");
  }
}

function landed(d: WriterDeps, e: OutboxEntry, p: WritePlan): void {
  const { store, bridge, mapping, form } = d;
  const now = d.now();
  store.atomically(() => {
    const localKey = p.localKey ?? (form.source.startsWith("odk:") ? e.record : "");
    bridge.putLocal(form.source, {
      record: e.record, localKey, instanceId: p.instanceId ?? bridge.local(form.source, e.record)?.instanceId ?? "",
      answers: p.answers, deleted: p.action === "delete",
    });
    bridge.markWritten(form.source, e.record, now);
    if (needsWrite(mapping, store.getRecord(e.record), bridge.local(form.source, e.record))) bridge.markDirty(form.source, e.record, now);
  });
}

/** After a 409/410/404: did our write land before (a retry after a lost answer), or did a person get there first? */
async function resolveConflict(d: WriterDeps, e: OutboxEntry, p: WritePlan, err: UpstreamError): Promise<"landed" | "raced" | UpstreamError> {
  const cur = await d.form.current(e.record, p.localKey);
  if (!cur.ok) return cur.error;
  const isOurs = p.action === "delete" ? cur.value === null : cur.value?.instanceId === p.instanceId;
  if (isOurs) return "landed";
  if (p.action === "create" && cur.value === null) {
    // The server holds this record id yet shows no submission: our create landed unheard and a person has deleted it
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

async function processEntry(d: WriterDeps, e: OutboxEntry, stats: WriteStats): Promise<void> {
  let plan = e.plan;
  if (!plan) {
    let planned: Result<Planned>;
    try {
      planned = await planWrite(d, e.record);
    } catch (err) {
      if (!(err instanceof XmlError)) throw err;
      planned = { ok: false, error: { kind: "bad-response", message: `${d.form.describe}: the submission's XML: ${err.message}` } };
    }
    if (!planned.ok) return void (recordFailure(d, e, planned.error, false), (stats.failed += 1));
    if (planned.value === "wait") return void (stats.deferred += 1);
    if (planned.value === "nothing") return void d.bridge.markWritten(d.form.source, e.record, d.now());
    plan = planned.value;
    d.bridge.setPlan(d.form.source, e.record, plan, d.now());
  }
  const sent = await sendPlan(d.form, e.record, plan);
  if (sent.ok) {
    landed(d, e, plan);
    stats.written += 1;
    return;
  }
  if (isConflict(sent.error)) {
    const r = await resolveConflict(d, e, plan, sent.error);
    if (r === "landed") {
      landed(d, e, plan);
      stats.written += 1;
    } else if (r === "raced") stats.deferred += 1;
    else {
      recordFailure(d, e, r, true);
      stats.failed += 1;
    }
    return;
  }
  recordFailure(d, e, sent.error, isTransient(sent.error) || sent.error.kind === "auth");
  stats.failed += 1;
}

/**
 * One write pass over one form: fill the outbox, then write what is due,
 * WRITE_CONCURRENCY records at a time (each entry is one record, so writes in
 * flight never touch the same submission).
 */
export async function writeForm(d: WriterDeps): Promise<WriteStats> {
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
