/**
 * KoboToolbox over HTTP: the v2 REST API (assets, submission data) on the kf
 * host and the OpenRosa `/submission` endpoint on the kc host, both with
 * `Authorization: Token …` (the one scheme that works for every call and
 * with MFA on; ../shared/facts/kobotoolbox-api.md §1). Every call returns a
 * Result; nothing here retries (the poller and writer decide).
 */
import { z } from "zod";
import { createHttpClient, FormData, type HttpClient, type HttpFile, type HttpResponse } from "./http-client.js";
import { classifyFailure, excerpt, fail, ok, parseJson, type Result } from "./upstream.js";

export interface KoboClientOptions {
  /** The kf host: `http://kf.kobo.local`. */
  readonly url: string;
  /** The kc host for OpenRosa (`/submission`); defaults to `url`. */
  readonly openrosaUrl?: string;
  readonly token: string;
  readonly timeoutMs: number;
}

/** Kobo's page cap (MAX_API_PAGE_SIZE): larger limits are silently cut to it. */
export const KOBO_MAX_PAGE = 1000;

export type KoboRow = Record<string, unknown>;

const pageSchema = z.object({
  count: z.number().int().nonnegative(),
  next: z.string().nullable(),
  results: z.array(z.record(z.string(), z.unknown())),
});

const assetSummarySchema = z.object({ uid: z.string(), name: z.string(), asset_type: z.string().optional(), has_deployment: z.boolean().optional() });
const assetPageSchema = z.object({ next: z.string().nullable(), results: z.array(assetSummarySchema) });

export type KoboAssetSummary = z.infer<typeof assetSummarySchema>;

export interface DataQuery {
  readonly query?: Record<string, unknown>;
  readonly sort?: Record<string, 1 | -1>;
  readonly fields?: readonly string[];
  readonly limit: number;
  readonly start?: number;
}

/** What `/submission` said to a write: 201 created or edited, 202 already there (byte-identical XML). */
export interface SubmitAccepted {
  readonly status: 201 | 202;
}

export interface Attachment {
  readonly filename: string;
  readonly bytes: Uint8Array;
  readonly mime: string;
}

export interface KoboClient {
  readonly url: string;
  listAssets(): Promise<Result<KoboAssetSummary[]>>;
  /** The asset detail JSON, content included (read by kobo-schema.ts). */
  getAsset(uid: string): Promise<Result<unknown>>;
  listData(uid: string, q: DataQuery): Promise<Result<{ count: number; next: string | null; results: KoboRow[] }>>;
  /** The stored XML of a submission's current version; null if there is no such submission. */
  getSubmissionXml(uid: string, id: number): Promise<Result<string | null>>;
  submit(xml: string, attachments?: readonly Attachment[]): Promise<Result<SubmitAccepted>>;
  /** One attachment's content (`GET …/data/{id}/attachments/{attachment uid}/`), hashed whole, at most `keepBytes` kept. */
  downloadAttachment(uid: string, id: number, attachment: string, keepBytes: number): Promise<Result<HttpFile>>;
  /** Deletes a submission; "absent" if it was already gone. */
  deleteSubmission(uid: string, id: number): Promise<Result<"deleted" | "absent">>;
  close(): Promise<void>;
}

/** The message in a Kobo error body: DRF's {"detail": …}, a field map, or an OpenRosaResponse. */
function koboDetail(res: HttpResponse): { message: string; code: null } {
  const text = res.body.toString("utf8");
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === "object") {
      const o = j as Record<string, unknown>;
      if (typeof o.detail === "string") return { message: o.detail, code: null };
      if (typeof o.message === "string") return { message: o.message, code: null };
      return { message: excerpt(res.body), code: null };
    }
  } catch {
    // not JSON: OpenRosa answers XML
  }
  const m = /<message[^>]*>([\s\S]*?)<\/message>/.exec(text);
  return { message: m ? m[1]!.trim() : excerpt(res.body), code: null };
}

export function createKoboClient(options: KoboClientOptions): KoboClient {
  const api: HttpClient = createHttpClient({ baseUrl: options.url, timeoutMs: options.timeoutMs });
  const openrosa: HttpClient = options.openrosaUrl && options.openrosaUrl !== options.url
    ? createHttpClient({ baseUrl: options.openrosaUrl, timeoutMs: options.timeoutMs })
    : api;
  const auth = { authorization: `Token ${options.token}` };

  async function getJson<T>(path: string, schema: z.ZodType<T>): Promise<Result<T>> {
    const out = await api.send({ method: "GET", url: path, headers: { ...auth, accept: "application/json" } });
    if (out.kind !== "response" || out.status !== 200) return fail(classifyFailure(`GET ${path}`, out, koboDetail));
    return parseJson(`GET ${path}`, out, schema);
  }

  return {
    url: options.url,

    async listAssets() {
      const all: KoboAssetSummary[] = [];
      let next: string | null = "/api/v2/assets/?format=json&q=asset_type:survey&limit=100";
      while (next) {
        const page: Result<z.infer<typeof assetPageSchema>> = await getJson(next, assetPageSchema);
        if (!page.ok) return page;
        all.push(...page.value.results);
        next = page.value.next;
      }
      return ok(all);
    },

    getAsset: (uid) => getJson(`/api/v2/assets/${encodeURIComponent(uid)}/?format=json`, z.unknown()),

    listData(uid, q) {
      const params = new URLSearchParams({ format: "json", limit: String(Math.min(q.limit, KOBO_MAX_PAGE)) });
      if (q.start) params.set("start", String(q.start));
      if (q.query) params.set("query", JSON.stringify(q.query));
      if (q.sort) params.set("sort", JSON.stringify(q.sort));
      if (q.fields) params.set("fields", JSON.stringify(q.fields));
      return getJson(`/api/v2/assets/${encodeURIComponent(uid)}/data/?${params.toString()}`, pageSchema);
    },

    async getSubmissionXml(uid, id) {
      const path = `/api/v2/assets/${encodeURIComponent(uid)}/data/${id}/?format=xml`;
      const out = await api.send({ method: "GET", url: path, headers: auth });
      if (out.kind === "response" && out.status === 404) return ok(null);
      if (out.kind !== "response" || out.status !== 200) return fail(classifyFailure(`GET ${path}`, out, koboDetail));
      const xml = out.body.toString("utf8");
      if (!xml.trimStart().startsWith("<")) return fail({ kind: "bad-response", message: `GET ${path}: the body is not XML: ${excerpt(out.body)}` });
      return ok(xml);
    },

    async submit(xml, attachments = []) {
      const form = new FormData();
      form.append("xml_submission_file", new Blob([xml], { type: "text/xml" }), "submission.xml");
      for (const a of attachments) form.append("media_file", new Blob([a.bytes], { type: a.mime }), a.filename);
      const out = await openrosa.send({
        method: "POST",
        url: "/submission", // no trailing slash: OpenRosa paths answer 404 with one
        headers: { ...auth, "x-openrosa-version": "1.0", accept: "application/json" },
        body: form,
      });
      if (out.kind === "response" && (out.status === 201 || out.status === 202)) return ok({ status: out.status });
      return fail(classifyFailure("POST /submission", out, koboDetail));
    },

    async downloadAttachment(uid, id, attachment, keepBytes) {
      // The documented route, rather than the row's download_url: that carries the host kpi was reached by, and any ?format.
      const path = `/api/v2/assets/${encodeURIComponent(uid)}/data/${id}/attachments/${encodeURIComponent(attachment)}/`;
      const out = await api.download({ method: "GET", url: path, headers: auth }, keepBytes);
      if (out.kind === "file") return ok(out);
      return fail(classifyFailure(`GET ${path}`, out, koboDetail));
    },

    async deleteSubmission(uid, id) {
      const path = `/api/v2/assets/${encodeURIComponent(uid)}/data/${id}/`;
      const out = await api.send({ method: "DELETE", url: path, headers: auth });
      if (out.kind === "response" && out.status === 204) return ok("deleted");
      if (out.kind === "response" && out.status === 404) return ok("absent");
      return fail(classifyFailure(`DELETE ${path}`, out, koboDetail));
    },

    async close() {
      await api.close();
      if (openrosa !== api) await openrosa.close();
    },
  };
}
