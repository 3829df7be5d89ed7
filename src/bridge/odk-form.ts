/**
 * An ODK Central form as a LocalForm. A poll pass reads OData `Submissions`
 * changed since the cursor (`__system/submissionDate` or `__system/updatedAt`
 * at or after it, repeats expanded inline), following `@odata.nextLink`, then
 * the REST list of deleted submissions. A review-state change also bumps
 * `updatedAt`, but leaves `meta/instanceID` alone, so the poller sees it as
 * unchanged. Writes use REST: POST to create, PUT with `deprecatedID` to edit
 * (REST POST ignores deprecatedID and would create a second submission).
 */
import { z } from "zod";
import type { RecordId } from "../engine/ids.js";
import type { FormSchema } from "./form-schema.js";
import type { CurrentVersion, LocalForm, PollItem } from "./local-form.js";
import type { OdkClient } from "./odk-client.js";
import { valuesFromOData } from "./submission-values.js";
import { fail, ok, type Result } from "./upstream.js";
import { firstChild, parseXml, textOf, XmlError } from "./xml.js";

/** Rows per OData page: a few hundred keeps each response small on a slow field server. */
const ODATA_PAGE = 250;

export interface OdkCursor {
  /** Newest `submissionDate` / `updatedAt` taken in (Central's own clock). */
  readonly since: string | null;
}

const rowSchema = z.object({
  __id: z.string().min(1),
  meta: z.object({ instanceID: z.string().nullable().optional() }).passthrough().optional(),
  __system: z.object({ submissionDate: z.string(), updatedAt: z.string().nullable() }).passthrough(),
});

export interface OdkFormOptions {
  readonly project: number;
  readonly schema: FormSchema;
  /** Node path → OData property name (odataNames in odk-schema.ts). */
  readonly names: ReadonlyMap<string, string>;
}

export function createOdkForm(client: OdkClient, options: OdkFormOptions): LocalForm {
  const { project, schema, names } = options;
  const form = schema.formId;
  const source = `odk:${project}:${form}`;

  function firstUrl(since: string | null): string {
    const params = new URLSearchParams({ $top: String(ODATA_PAGE), $expand: "*" });
    // Central parses unquoted ISO timestamps in $filter; `ge` re-reads the boundary rows, which the poller finds unchanged.
    if (since) params.set("$filter", `__system/submissionDate ge ${since} or __system/updatedAt ge ${since}`);
    return `/v1/projects/${project}/forms/${encodeURIComponent(form)}.svc/Submissions?${params.toString()}`;
  }

  async function readChanges(since: string | null, onPage: (items: PollItem[]) => void): Promise<Result<string | null>> {
    let newest = since;
    let url: string | null = firstUrl(since);
    while (url) {
      const page: Awaited<ReturnType<OdkClient["odataPage"]>> = await client.odataPage(url);
      if (!page.ok) return page;
      const items: PollItem[] = [];
      for (const raw of page.value.rows) {
        const row = rowSchema.safeParse(raw);
        if (!row.success) return fail({ kind: "bad-response", message: `OData ${form}: a row without __id or __system: ${JSON.stringify(raw).slice(0, 120)}` });
        const { __id, meta, __system } = row.data;
        for (const t of [__system.submissionDate, __system.updatedAt]) if (t && (newest === null || t > newest)) newest = t;
        items.push({
          kind: "version",
          version: {
            record: __id as RecordId,
            localKey: __id,
            instanceId: meta?.instanceID ?? __id,
            answers: valuesFromOData(schema, names, raw),
            submittedAt: __system.submissionDate,
          },
        });
      }
      if (items.length > 0) onPage(items);
      url = page.value.next;
    }
    return ok(newest);
  }

  return {
    source,
    schema,
    describe: `ODK Central form ${form} of project ${project} ("${schema.title}") at ${client.url}`,

    async poll(cursor, pass) {
      const since = (cursor as OdkCursor | undefined)?.since ?? null;
      const newest = await readChanges(since, (items) => pass.onPage(items));
      if (!newest.ok) return newest;
      const deleted = await client.listDeleted(project, form);
      if (!deleted.ok) return deleted;
      const known = pass.known();
      const gone: PollItem[] = deleted.value.filter((id) => known.has(id)).map((id) => ({ kind: "gone", localKey: id }));
      if (gone.length > 0) pass.onPage(gone);
      return ok({ since: newest.value } satisfies OdkCursor);
    },

    async current(record): Promise<Result<CurrentVersion | null>> {
      const xml = await client.getSubmissionXml(project, form, record);
      if (!xml.ok) return xml;
      if (xml.value === null) return ok(null);
      try {
        const meta = firstChild(parseXml(xml.value), "meta");
        const inst = meta ? firstChild(meta, "instanceID") : undefined;
        return ok({ localKey: record, instanceId: inst ? textOf(inst).trim() : record, xml: xml.value });
      } catch (err) {
        if (err instanceof XmlError) return fail({ kind: "bad-response", message: `submission ${record} of ${form}: ${err.message}` });
        throw err;
      }
    },

    filesApart: true,

    async create(_record, xml) {
      const r = await client.createSubmission(project, form, xml);
      return r.ok ? ok(undefined) : r;
    },

    async edit(_record, localKey, xml) {
      const r = await client.updateSubmission(project, form, localKey, xml);
      return r.ok ? ok(undefined) : r;
    },

    async listFiles(_record, localKey) {
      const r = await client.listAttachments(project, form, localKey);
      return r.ok ? ok(r.value.filter((a) => a.exists).map((a) => ({ name: a.name, token: null, mime: null }))) : r;
    },

    async fetchFile(_record, localKey, file, keepBytes, etag) {
      const r = await client.downloadAttachment(project, form, localKey, file.name, keepBytes, etag);
      if (!r.ok) return r;
      const d = r.value;
      if (d.kind === "unchanged") return ok(d);
      const type = d.headers["content-type"];
      const mime = typeof type === "string" && type !== "" ? type.split(";")[0]!.trim() : "application/octet-stream";
      return ok({ kind: "file", size: d.size, sha256: d.sha256, bytes: d.bytes, mime, etag: d.etag });
    },

    attach: (_record, localKey, file) => client.uploadAttachment(project, form, localKey, file.name, file.bytes, file.mime),

    remove: (_record, localKey) => client.deleteSubmission(project, form, localKey),

    async restore(_record, localKey) {
      const r = await client.restoreSubmission(project, form, localKey);
      return r.ok ? ok("restored") : r;
    },

    close: () => client.close(),
  };
}
