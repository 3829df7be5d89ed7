/**
 * The write side of attachments: which files a converged record names that
 * the local server lacks, the bytes to send for them from the blob store, and
 * the bookkeeping that makes uploads exactly-once and echo-free:
 *
 * - a file is due when the record's answers (as the write leaves them) name
 *   it, the record has its metadata, and the server is not known to hold that
 *   content (bridge_files);
 * - its bytes must be in the blob store; if they are not (yet), a wait is
 *   recorded, and the write pass that finds them arrived schedules the upload;
 * - what we upload is recorded as held, so the poll that reads it back
 *   recognises it and appends nothing.
 */
import { isAlive, type RecordState } from "../engine/record-state.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { RecordId } from "../engine/ids.js";
import { filePolicy, keepsBytes, sameHash, sharedFileNames } from "./attachment-files.js";
import type { BridgeFiles } from "./bridge-files.js";
import type { Answers, PlannedFile } from "./bridge-store.js";
import type { OutgoingFile } from "./local-form.js";
import type { ResolvedMapping } from "./mapping.js";
import { desiredAnswers } from "./record-translate.js";

export interface FileWriteDeps {
  readonly store: SqliteStore;
  readonly files: BridgeFiles;
  readonly mapping: ResolvedMapping;
  /** The mapping's source key ("kobo:<asset>", "odk:<project>:<form>"). */
  readonly source: string;
}

/**
 * The files to put on the server so that it holds what `state` says for the
 * files `answers` name. Files whose bytes this site lacks are left out, and
 * a wait is recorded for those the policy carries (transfer, ≤ max_bytes).
 * Nothing under policy "none".
 */
export function filesToSend(d: FileWriteDeps, state: RecordState, answers: Answers): PlannedFile[] {
  const policy = filePolicy(d.mapping);
  if (policy.kind === "none" || state.attachments.size === 0) return [];
  const names = sharedFileNames(d.mapping, answers);
  if (names.size === 0) return [];
  const held = d.files.held(d.source, state.record);
  const out: PlannedFile[] = [];
  for (const name of names) {
    const a = state.attachments.get(name);
    const h = held.get(name);
    if (!a || (h && sameHash(h.hash, a.hash))) continue;
    if (d.store.blobs.has(a.hash)) out.push({ name, hash: Buffer.from(a.hash).toString("hex"), size: a.size, mime: a.mime });
    else if (keepsBytes(policy, a.size)) d.files.wait(d.source, state.record, a.hash);
  }
  return out;
}

/** The bytes of planned files, read from the blob store; the name of the first one missing (a plan to make again) otherwise. */
export function outgoingFiles(store: SqliteStore, files: readonly PlannedFile[]): OutgoingFile[] | { missing: string } {
  const out: OutgoingFile[] = [];
  for (const f of files) {
    const bytes = store.blobs.get(Buffer.from(f.hash, "hex"));
    if (!bytes) return { missing: f.name };
    out.push({ name: f.name, mime: f.mime, bytes });
  }
  return out;
}

/** Records that the server now holds `files` on version `instanceId` (its own token for them unknown until polled). */
export function noteSent(d: FileWriteDeps, record: RecordId, files: readonly PlannedFile[], instanceId: string): void {
  for (const f of files) {
    d.files.putHeld(d.source, record, { name: f.name, hash: Buffer.from(f.hash, "hex"), size: f.size, mime: f.mime, token: null, instanceId });
  }
}

/** Records waiting for bytes that have arrived since; each is handed to `dirty` (and no longer waits). */
/** Whether the live record's answers still name a file with this content (else its bytes will never be fetched). */
function stillNamed(d: FileWriteDeps, record: RecordId, hash: Uint8Array): boolean {
  const state = d.store.getRecord(record);
  if (!state || !isAlive(state)) return false;
  for (const name of sharedFileNames(d.mapping, desiredAnswers(d.mapping, state))) {
    const a = state.attachments.get(name);
    if (a && sameHash(a.hash, hash)) return true;
  }
  return false;
}

export function wakeArrived(d: FileWriteDeps, dirty: (record: RecordId) => void): number {
  if (filePolicy(d.mapping).kind === "none") return 0;
  const records = d.store.atomically(() => {
    const arrived = d.files.takeArrived(d.source, (h) => d.store.blobs.has(h), (record, h) => !stillNamed(d, record, h));
    arrived.forEach(dirty);
    return arrived;
  });
  return records.length;
}
