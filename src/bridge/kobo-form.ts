/**
 * A KoboToolbox form (asset) as a LocalForm. The data API has no "edited
 * since" stamp (kpi#7259), so a poll pass is:
 *  1. new rows by `_id` high-water mark, 1,000 per page (Kobo's cap), sorted;
 *  2. a light scan of every row's `_id` and `_uuid`: a changed `_uuid` is an
 *     edit (fetched in full), a known `_id` that is missing was deleted. A
 *     submission our writer created has no known `_id` until a poll reads it
 *     (OpenRosa's answer does not carry it): found by `meta/rootUuid`, or
 *     deleted if no row has it.
 * Writes go through OpenRosa `/submission` (the v2 API cannot create).
 */
import { z } from "zod";
import type { RecordId } from "../engine/ids.js";
import type { FormSchema } from "./form-schema.js";
import { KOBO_MAX_PAGE, type KoboClient, type KoboRow } from "./kobo-client.js";
import type { CurrentVersion, LocalForm, ObservedVersion, OutgoingFile, PollItem, PollPass, ServerFile } from "./local-form.js";
import { valuesFromKoboJson } from "./submission-values.js";
import { fail, ok, type Result } from "./upstream.js";
import { firstChild, parseXml, textOf, XmlError } from "./xml.js";

/** Rows fetched in full per request when the scan finds edits. */
const EDIT_FETCH_BATCH = 200;

const rowIdsSchema = z.object({
  _id: z.number().int(),
  _uuid: z.string().optional(),
  "meta/instanceID": z.string().optional(),
  "meta/rootUuid": z.string().optional(),
});

/** One entry of a row's `_attachments` (kpi DataAttachmentFieldExtension); `uid` names the stored content. */
const attachmentSchema = z.object({
  uid: z.string().min(1),
  media_file_basename: z.string().min(1),
  mimetype: z.string().nullish(),
  is_deleted: z.boolean().optional(),
});

/** The files a data row lists: `_attachments` that are not soft-deleted (an edit that stopped naming a file deletes it). */
export function filesOfRow(row: KoboRow): ServerFile[] {
  const list = Array.isArray(row._attachments) ? row._attachments : [];
  const out: ServerFile[] = [];
  for (const raw of list) {
    const a = attachmentSchema.safeParse(raw);
    if (!a.success || a.data.is_deleted === true) continue;
    out.push({ name: a.data.media_file_basename, token: a.data.uid, mime: a.data.mimetype ?? null });
  }
  return out;
}

const toParts = (files: readonly OutgoingFile[] = []) => files.map((f) => ({ filename: f.name, bytes: f.bytes, mime: f.mime }));

export interface KoboCursor {
  /** Highest `_id` whose row has been taken in. */
  readonly lastId: number;
}

/** What a pass has seen of the server's rows: `_id` → instanceID, and record (rootUuid) → `_id`. */
interface RowIdentities {
  readonly seen: Map<number, string>;
  readonly roots: Map<string, number>;
}

function instanceOf(row: z.infer<typeof rowIdsSchema>): string {
  return row["meta/instanceID"] ?? `uuid:${row._uuid ?? ""}`;
}

/** Kobo's `_submission_time` is UTC without a zone ("2024-05-01T10:11:12"). */
export function toIsoUtc(t: unknown): string | null {
  if (typeof t !== "string" || t === "") return null;
  return /[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`;
}

export function createKoboForm(client: KoboClient, schema: FormSchema): LocalForm {
  const uid = schema.formId;
  const source = `kobo:${uid}`;

  function toVersion(row: KoboRow): ObservedVersion | string {
    const ids = rowIdsSchema.safeParse(row);
    if (!ids.success) return `a row without a numeric _id: ${JSON.stringify(row).slice(0, 120)}`;
    const instanceId = instanceOf(ids.data);
    const root = row["meta/rootUuid"];
    const record = (typeof root === "string" && root !== "" ? root : instanceId) as RecordId;
    return {
      record,
      localKey: String(ids.data._id),
      instanceId,
      answers: valuesFromKoboJson(schema, row),
      submittedAt: toIsoUtc(row._submission_time),
      files: filesOfRow(row),
    };
  }

  function versions(rows: readonly KoboRow[]): Result<PollItem[]> {
    const out: PollItem[] = [];
    for (const row of rows) {
      const v = toVersion(row);
      if (typeof v === "string") return fail({ kind: "bad-response", message: `GET /api/v2/assets/${uid}/data/: ${v}` });
      out.push({ kind: "version", version: v });
    }
    return ok(out);
  }

  /**
   * Step 1: rows above the high-water mark. The next page is requested before
   * this one is taken in, so the server builds it while we sign (a page's last
   * `_id` is all the next query needs). Each row's identity goes into `rows`,
   * so the scan need not read these rows again.
   */
  async function takeNew(lastId: number, pass: PollPass, rows: RowIdentities): Promise<Result<number>> {
    const fetchAfter = (id: number) => client.listData(uid, { query: { _id: { $gt: id } }, sort: { _id: 1 }, limit: KOBO_MAX_PAGE });
    let pending = fetchAfter(lastId);
    for (;;) {
      const page = await pending;
      if (!page.ok) return page;
      const items = versions(page.value.results);
      if (!items.ok) return items;
      for (const it of items.value) {
        if (it.kind !== "version") continue;
        const id = Number(it.version.localKey);
        lastId = Math.max(lastId, id);
        rows.seen.set(id, it.version.instanceId);
        rows.roots.set(it.version.record, id);
      }
      const more = page.value.next !== null && page.value.results.length > 0;
      if (more) pending = fetchAfter(lastId);
      if (items.value.length > 0) pass.onPage(items.value, { lastId } satisfies KoboCursor);
      if (!more) return ok(lastId);
    }
  }

  /**
   * Step 2: every row's identity, to find edits, rows we never took in, and
   * deletions. Rows up to `scanTo` are read (only their ids); the rows step 1
   * just took in are in `rows` already: an edit or deletion of one of them
   * since is found by the next pass, which scans them.
   */
  async function scan(scanTo: number, lastId: number, pass: PollPass, rows: RowIdentities): Promise<Result<void>> {
    const { seen, roots } = rows;
    let after = 0;
    while (after < scanTo) {
      const page = await client.listData(uid, {
        query: { _id: { $gt: after, $lte: scanTo } },
        sort: { _id: 1 },
        fields: ["_id", "_uuid", "meta/instanceID", "meta/rootUuid"],
        limit: KOBO_MAX_PAGE,
      });
      if (!page.ok) return page;
      for (const row of page.value.results) {
        const ids = rowIdsSchema.safeParse(row);
        if (!ids.success) return fail({ kind: "bad-response", message: `GET /api/v2/assets/${uid}/data/: a row without a numeric _id` });
        seen.set(ids.data._id, instanceOf(ids.data));
        const root = ids.data["meta/rootUuid"];
        if (root) roots.set(root, ids.data._id);
        after = Math.max(after, ids.data._id);
      }
      if (page.value.next === null || page.value.results.length === 0) break;
    }
    const known = pass.known();
    const stale = [...seen].filter(([id, inst]) => known.get(String(id))?.instanceId !== inst).map(([id]) => id);
    const gone: PollItem[] = [];
    for (const record of pass.unkeyed()) {
      const id = roots.get(record);
      if (id === undefined) gone.push({ kind: "gone", localKey: "", record });
      else if (!stale.includes(id)) stale.push(id);
    }
    for (let i = 0; i < stale.length; i += EDIT_FETCH_BATCH) {
      const ids = stale.slice(i, i + EDIT_FETCH_BATCH);
      const page = await client.listData(uid, { query: { _id: { $in: ids } }, sort: { _id: 1 }, limit: KOBO_MAX_PAGE });
      if (!page.ok) return page;
      const items = versions(page.value.results);
      if (!items.ok) return items;
      if (items.value.length > 0) pass.onPage(items.value);
    }
    for (const key of pass.known().keys()) {
      const id = Number(key);
      if (key !== "" && Number.isInteger(id) && id <= lastId && !seen.has(id)) gone.push({ kind: "gone", localKey: key });
    }
    if (gone.length > 0) pass.onPage(gone);
    return ok(undefined);
  }

  async function findId(record: RecordId): Promise<Result<number | null>> {
    const page = await client.listData(uid, { query: { "meta/rootUuid": record }, fields: ["_id"], limit: 1 });
    if (!page.ok) return page;
    const id = page.value.results[0]?._id;
    return ok(typeof id === "number" ? id : null);
  }

  return {
    source,
    schema,
    describe: `KoboToolbox asset ${uid} ("${schema.title}") at ${client.url}`,

    async poll(cursor, pass) {
      const start = (cursor as KoboCursor | undefined)?.lastId ?? 0;
      const rows: RowIdentities = { seen: new Map(), roots: new Map() };
      const lastId = await takeNew(start, pass, rows);
      if (!lastId.ok) return lastId;
      const scanned = await scan(start, lastId.value, pass, rows);
      if (!scanned.ok) return scanned;
      return ok({ lastId: lastId.value } satisfies KoboCursor);
    },

    async current(record, localKey): Promise<Result<CurrentVersion | null>> {
      let id = localKey ? Number(localKey) : NaN;
      if (!Number.isInteger(id)) {
        const found = await findId(record);
        if (!found.ok) return found;
        if (found.value === null) return ok(null);
        id = found.value;
      }
      const xml = await client.getSubmissionXml(uid, id);
      if (!xml.ok) return xml;
      if (xml.value === null) return ok(null);
      try {
        const meta = firstChild(parseXml(xml.value), "meta");
        const inst = meta ? firstChild(meta, "instanceID") : undefined;
        if (!inst) return fail({ kind: "bad-response", message: `submission ${id} of ${uid} has no meta/instanceID` });
        return ok({ localKey: String(id), instanceId: textOf(inst).trim(), xml: xml.value });
      } catch (err) {
        if (err instanceof XmlError) return fail({ kind: "bad-response", message: `submission ${id} of ${uid}: ${err.message}` });
        throw err;
      }
    },

    filesApart: false,

    async create(_record, xml, files) {
      const r = await client.submit(xml, toParts(files));
      return r.ok ? ok(undefined) : r;
    },

    async edit(_record, _localKey, xml, files) {
      const r = await client.submit(xml, toParts(files));
      return r.ok ? ok(undefined) : r;
    },

    async listFiles(_record, localKey) {
      const id = Number(localKey);
      const page = await client.listData(uid, { query: { _id: id }, fields: ["_id", "_attachments"], limit: 1 });
      if (!page.ok) return page;
      const row = page.value.results[0];
      return ok(row ? filesOfRow(row) : []);
    },

    async fetchFile(_record, localKey, file, keepBytes) {
      const r = await client.downloadAttachment(uid, Number(localKey), file.token ?? file.name, keepBytes);
      if (!r.ok) return r;
      return ok({ kind: "file", size: r.value.size, sha256: r.value.sha256, bytes: r.value.bytes, mime: file.mime ?? "application/octet-stream", etag: null });
    },

    attach() {
      throw new Error("KoboToolbox takes files with the submission (filesApart is false); attach() is not used");
    },

    async remove(record, localKey) {
      let id = localKey ? Number(localKey) : NaN;
      if (!Number.isInteger(id)) {
        const found = await findId(record);
        if (!found.ok) return found;
        if (found.value === null) return ok("absent");
        id = found.value;
      }
      return client.deleteSubmission(uid, id);
    },

    restore: () => Promise.resolve(ok("unsupported")),
    close: () => client.close(),
  };
}
