/**
 * The poll's second half under an attachment policy: for each record whose
 * new version was taken in (bridge_file_checks, queued with its upsert), read
 * the files its replicating answers name, and append one "attachment" event
 * per file whose content is new to this site: after the upsert, never
 * instead of it. A file is read only when the server's token for it (Kobo's
 * attachment uid; Central's ETag, asked with If-None-Match) says it may have
 * changed; its SHA-256 is computed over the whole download. Under "transfer"
 * the bytes of a file up to `max_bytes` go into the blob store with the event;
 * a larger file, and every file under "metadata", travels as metadata only.
 *
 * A check that cannot finish (download failed, or the server does not have a
 * file the answers name yet: Collect may send media after the XML) stays
 * queued with back-off, so the next polls try again whatever the cursor says.
 */
import type { FormContext } from "./form-context.js";
import type { RecordState } from "../engine/record-state.js";
import { filePolicy, keepsBytes, sameHash, sharedFileNames, type FilePolicy } from "./attachment-files.js";
import type { FileCheck, HeldFile } from "./bridge-files.js";
import type { LocalCopy } from "./bridge-store.js";
import { retryDelay } from "./constants.js";
import type { ServerFile } from "./local-form.js";
import type { ResolvedMapping } from "./mapping.js";
import { describeError, ok } from "./upstream.js";

/** Records whose files one poll pass reads; the rest wait for the next pass. */
const CHECK_BATCH = 100;

export type FilePollDeps = FormContext;

export interface FilePollStats {
  /** Attachment events appended. */
  events: number;
  /** Files over the policy's max_bytes, sent as metadata only ("name (size bytes)"). */
  readonly tooLarge: string[];
  /** Records left queued for a later poll. */
  retried: number;
  /** Why the last of those could not finish. */
  lastError: string | null;
}

/** True if the server's listing shows the content we already know for that name. */
function knownContent(held: HeldFile, f: ServerFile, instanceId: string): boolean {
  if (f.token !== null) return held.token === f.token || (held.token === null && held.instanceId === instanceId);
  return held.instanceId === instanceId;
}

interface RecordCtx {
  readonly d: FilePollDeps;
  readonly policy: FilePolicy;
  readonly copy: LocalCopy;
  readonly view: RecordState | undefined;
  readonly held: Map<string, HeldFile>;
}

/** Reads one file if it may have changed; returns why it could not, or null. */
async function takeFile(c: RecordCtx, f: ServerFile, stats: FilePollStats): Promise<string | null> {
  const { d, copy, policy } = c;
  const source = d.form.source;
  const held = c.held.get(f.name);
  if (held && knownContent(held, f, copy.instanceId)) {
    if (held.token === null && f.token !== null) d.files.putHeld(source, copy.record, { ...held, token: f.token });
    return null;
  }
  const got = await d.form.fetchFile(copy.record, copy.localKey, f, policy.maxBytes, held?.token ?? null);
  if (!got.ok) return `${f.name}: ${describeError(got.error)}`;
  if (got.value.kind === "unchanged") {
    if (held) d.files.putHeld(source, copy.record, { ...held, instanceId: copy.instanceId });
    return null;
  }
  const file = got.value;
  d.store.atomically(() => {
    d.files.putHeld(source, copy.record, { name: f.name, hash: file.sha256, size: file.size, mime: file.mime, token: f.token ?? file.etag, instanceId: copy.instanceId });
    if (file.bytes !== null && keepsBytes(policy, file.size)) d.store.blobs.put(file.bytes, file.mime, file.sha256);
    // The server holds what we knew it held (our own upload polled back), or what the record already says: no event.
    const inView = c.view?.attachments.get(f.name);
    if ((held && sameHash(held.hash, file.sha256)) || (inView && sameHash(inView.hash, file.sha256))) return;
    d.store.append({ kind: "attachment", record: copy.record, type: d.mapping.type, field: f.name, hash: file.sha256, size: file.size, mime: file.mime });
    stats.events += 1;
    if (policy.kind === "transfer" && !keepsBytes(policy, file.size)) stats.tooLarge.push(`${f.name} (${file.size} bytes)`);
  });
  return null;
}

function retry(d: FilePollDeps, check: FileCheck, why: string, stats: FilePollStats): void {
  const attempts = check.attempts + 1;
  d.files.retryCheck(d.form.source, check.record, attempts, d.now() + retryDelay(attempts), why);
  stats.retried += 1;
  stats.lastError = why;
}

async function checkRecord(d: FilePollDeps, policy: FilePolicy, check: FileCheck, stats: FilePollStats): Promise<void> {
  const source = d.form.source;
  const copy = d.bridge.local(source, check.record);
  const wanted = copy && !copy.deleted ? sharedFileNames(d.mapping, copy.answers) : new Set<string>();
  if (!copy || wanted.size === 0) return d.files.checkDone(source, check.record);
  const listing = check.listing ? ok(check.listing) : await d.form.listFiles(check.record, copy.localKey);
  if (!listing.ok) return retry(d, check, `submission ${check.record}: listing its files: ${describeError(listing.error)}`, stats);
  const byName = new Map(listing.value.map((f) => [f.name, f]));
  const ctx: RecordCtx = { d, policy, copy, view: d.store.getRecord(check.record), held: d.files.held(source, check.record) };
  let open: string | null = null;
  for (const name of wanted) {
    const f = byName.get(name);
    // A name the record already has a file for came from elsewhere (we wrote it, bytes may never come); a new one is awaited.
    const problem = f ? await takeFile(ctx, f, stats) : ctx.view?.attachments.has(name)
      ? null
      : `${name} is not on the server yet (Collect may send media after the form; if it never arrives, send the submission again from the device)`;
    open ??= problem;
  }
  if (open) retry(d, check, `submission ${check.record}: ${open}`, stats);
  else d.files.checkDone(source, check.record);
}

/** Reads the files of the records queued for it (their upserts already appended). Failures stay queued. */
export async function pollFiles(d: FilePollDeps): Promise<FilePollStats | null> {
  const policy = filePolicy(d.mapping);
  if (policy.kind === "none") return null;
  const stats: FilePollStats = { events: 0, tooLarge: [], retried: 0, lastError: null };
  for (const check of d.files.dueChecks(d.form.source, d.now(), CHECK_BATCH)) await checkRecord(d, policy, check, stats);
  return stats;
}

/** Whether a polled version's files need reading: the policy carries files and its replicating answers name some. */
export function wantsFileCheck(m: ResolvedMapping, answers: LocalCopy["answers"]): boolean {
  return filePolicy(m).kind !== "none" && sharedFileNames(m, answers).size > 0;
}
