/**
 * Deciding one write: from the converged record, the local copy and (for an
 * edit) the submission's current XML, the exact request to make, persisted
 * by the writer before it is sent. Files are part of the plan: those the
 * record names that the server lacks and whose bytes this site holds.
 */
import type { FormContext } from "./form-context.js";
import { randomUUID } from "node:crypto";
import { isAlive, type RecordState } from "../engine/record-state.js";
import type { RecordId } from "../engine/ids.js";
import type { Answers, LocalCopy, WritePlan } from "./bridge-store.js";
import { filesToSend, type FileWriteDeps } from "./file-writer.js";
import { answersToWrite, desiredAnswers, needsWrite, overlay, SUBMITTED_FIELD } from "./record-translate.js";
import { buildSubmissionXml, setMeta, writeValuesToXml } from "./submission-values.js";
import { ok, type Result } from "./upstream.js";
import { parseXml, serializeXml } from "./xml.js";

export interface PlanDeps extends FormContext {
  /** Asks for a poll of this form before the next write pass. */
  readonly requestPoll: () => void;
}

/** A plan, nothing to do, or wait for a poll to read a person's change first. */
export type Planned = WritePlan | "nothing" | "wait";

export function fileDeps(d: Omit<PlanDeps, "bridge" | "form" | "requestPoll"> & { readonly form: { readonly source: string } }): FileWriteDeps {
  return { store: d.store, files: d.files, mapping: d.mapping, source: d.form.source };
}

/** True if the local server lacks what the converged record says: answers, deletion, or files whose bytes are here. */
export function recordNeedsWrite(d: Omit<PlanDeps, "bridge" | "requestPoll">, state: RecordState | undefined, copy: LocalCopy | undefined): boolean {
  if (needsWrite(d.mapping, state, copy)) return true;
  if (!state || !isAlive(state) || !copy || copy.deleted) return false;
  return filesToSend(fileDeps(d), state, copy.answers).length > 0;
}

/** An edit of the live submission: `changes` patched into its current XML, with a new instanceID. */
async function planEdit(d: PlanDeps, state: RecordState, live: LocalCopy, changes: Answers, change: number): Promise<Result<Planned>> {
  const cur = await d.form.current(state.record, live.localKey);
  if (!cur.ok) return cur;
  if (cur.value === null || cur.value.instanceId !== live.instanceId) {
    d.requestPoll(); // a person edited or deleted it and the poller has not seen that yet
    return ok("wait");
  }
  const root = parseXml(cur.value.xml);
  writeValuesToXml(d.mapping.schema, root, changes);
  const instanceId = `uuid:${randomUUID()}`;
  setMeta(d.mapping.schema, root, { instanceId, deprecatedId: cur.value.instanceId, rootUuid: state.record });
  const answers = overlay(live.answers, changes);
  return ok({
    action: "edit", instanceId, deprecatedId: cur.value.instanceId, localKey: cur.value.localKey, body: serializeXml(root),
    answers, change, files: filesToSend(fileDeps(d), state, answers),
  });
}

/** Only files are due: Central takes them on the current version; Kobo needs an edit that carries them. */
function planFiles(d: PlanDeps, state: RecordState, copy: LocalCopy | undefined, change: number): Promise<Result<Planned>> | Result<Planned> {
  if (!copy || copy.deleted) return ok("nothing");
  const files = filesToSend(fileDeps(d), state, copy.answers);
  if (files.length === 0) return ok("nothing");
  if (!d.form.filesApart) return planEdit(d, state, copy, new Map(), change);
  return ok({ action: "attach", instanceId: copy.instanceId, deprecatedId: null, localKey: copy.localKey, body: null, answers: copy.answers, change, files });
}

/** Where deletion is soft (Central) and a later edit outran a delete: the submission back, to edit it; the copy to edit, if any. */
async function revive(d: PlanDeps, copy: LocalCopy): Promise<Result<LocalCopy | undefined>> {
  const restored = await d.form.restore(copy.record, copy.localKey);
  if (!restored.ok && !(restored.error.kind === "rejected" && restored.error.status === 404)) return restored;
  if (restored.ok && restored.value !== "restored") return ok(undefined);
  if (!restored.ok) {
    // Nothing deleted to restore: gone for good, or an earlier restore landed and its answer was lost (a poll cannot see a
    // restore: it leaves updatedAt alone). The server's current version says which; a live one is the copy's, restored.
    const cur = await d.form.current(copy.record, copy.localKey);
    if (!cur.ok) return cur;
    if (cur.value === null) return ok(undefined);
  }
  const live = { ...copy, deleted: false };
  d.bridge.putLocal(d.form.source, live);
  return ok(live);
}

/** The write that brings the local server to the converged record, if any. */
export async function planWrite(d: PlanDeps, record: RecordId): Promise<Result<Planned>> {
  const { store, bridge, mapping, form } = d;
  const state = store.getRecord(record);
  const copy = bridge.local(form.source, record);
  const change = store.viewChangeSeq();
  if (!needsWrite(mapping, state, copy)) return state && isAlive(state) ? planFiles(d, state, copy, change) : ok("nothing");
  if (!state || !isAlive(state)) {
    // Deleted, or gone from the view (no write of it remains): the submission goes.
    return ok({ action: "delete", instanceId: null, deprecatedId: null, localKey: copy!.localKey, body: null, answers: copy!.answers, change, files: [] });
  }
  const desired = desiredAnswers(mapping, state);
  let live = copy && !copy.deleted ? copy : undefined;
  if (copy?.deleted) {
    const revived = await revive(d, copy);
    if (!revived.ok) return revived;
    live = revived.value;
  }
  if (live) return planEdit(d, state, live, answersToWrite(desired, live.answers), change);
  const answers = new Map([...desired].filter(([, v]) => v !== null));
  const submitted = state.fields.get(SUBMITTED_FIELD)?.value;
  const body = buildSubmissionXml(mapping.schema, answers, {
    instanceId: record,
    rootUuid: record,
    submissionDate: typeof submitted === "string" ? submitted : undefined,
  });
  return ok({ action: "create", instanceId: record, deprecatedId: null, localKey: copy?.localKey ?? null, body, answers, change, files: filesToSend(fileDeps(d), state, answers) });
}
