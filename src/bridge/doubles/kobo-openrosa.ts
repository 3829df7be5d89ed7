/**
 * The OpenRosa `/submission` endpoint of the Kobo double (kpi's
 * XFormSubmissionApi): HEAD for the OpenRosa headers, POST as multipart
 * (`xml_submission_file` plus attachment parts) or as JSON `{id, submission}`.
 * Successes render through the negotiated renderer (XML by default, JSON
 * on request); OpenRosa errors of a multipart POST are always XML.
 */
import { errorReply, escapeXml, jsonReply, negotiate, NOT_FOUND, textReply, emptyReply, type ApiRequest, type KoboReply } from "./kobo-http.js";
import type { KoboStore, ReceiveInput, ReceiveOutcome, UploadedFile } from "./kobo-submissions.js";

/** kpi's OPENROSA_DEFAULT_CONTENT_LENGTH, advertised in X-OpenRosa-Accept-Content-Length. */
const OPENROSA_ACCEPT_CONTENT_LENGTH = "10000000";
const XML_PART = "xml_submission_file";
/** The content type of kpi's OpenRosaResponse and of its TemplateXMLRenderer. */
export const OPENROSA_XML = "text/xml; charset=utf-8";
/** kpi answers a multipart POST without the XML part with an unhandled exception (500); the double says why instead. */
const MISSING_XML = "Received empty submission. No instance was created";

export interface OpenRosaOptions {
  readonly store: KoboStore;
  readonly now: () => Date;
}

/** A submission body as kpi sees it before ingest. */
type ParsedBody = { readonly xml: string; readonly files: UploadedFile[] } | { readonly reply: KoboReply };

export function openRosaHeaders(req: ApiRequest, withLocation = true): Record<string, string> {
  const headers: Record<string, string> = { "x-openrosa-version": "1.0", "x-openrosa-accept-content-length": OPENROSA_ACCEPT_CONTENT_LENGTH };
  if (withLocation) headers["location"] = `${req.origin}${req.path}`;
  return headers;
}

/** HEAD or POST /submission from an authenticated user. */
export async function handleSubmission(opts: OpenRosaOptions, req: ApiRequest, body: Uint8Array, user: string): Promise<KoboReply> {
  if (req.method === "HEAD") return emptyReply(204, openRosaHeaders(req));
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  const isJson = contentType.includes("application/json");
  const parsed = isJson ? parseJsonBody(body) : await parseMultipart(contentType, body, req);
  if ("reply" in parsed) return parsed.reply;
  const input: ReceiveInput = { xml: parsed.xml, files: parsed.files, submittedBy: user, now: opts.now() };
  return renderOutcome(req, opts.store.receive(input), isJson);
}

async function parseMultipart(contentType: string, body: Uint8Array, req: ApiRequest): Promise<ParsedBody> {
  if (contentType.startsWith("application/x-www-form-urlencoded")) return { reply: openRosaError(req, 400, MISSING_XML) };
  if (!contentType.startsWith("multipart/form-data")) {
    return { reply: jsonReply(415, { detail: `Unsupported media type "${contentType}" in request.` }) };
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  } catch (e) {
    return { reply: jsonReply(400, { detail: `Multipart form parse error - ${(e as Error).message}` }) };
  }
  let xml: string | undefined;
  const files: UploadedFile[] = [];
  for (const [name, value] of form) {
    if (typeof value === "string") continue;
    const bytes = new Uint8Array(await value.arrayBuffer());
    if (name === XML_PART && xml === undefined) {
      const text = decodeUtf8(bytes);
      if (text === undefined) return { reply: openRosaError(req, 400, "File likely corrupted during transmission, please try later.") };
      xml = text;
    } else files.push({ name: value.name, type: value.type, bytes });
  }
  return xml === undefined ? { reply: openRosaError(req, 400, MISSING_XML) } : { xml, files };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** kpi's create_instance_from_json: `{id, submission}`, lists of strings joined by spaces, then dict2xform. */
function parseJsonBody(body: Uint8Array): ParsedBody {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    return { reply: jsonReply(400, { detail: `JSON parse error - ${(e as Error).message}` }) };
  }
  const record = typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
  const submission = record["submission"];
  if (submission === undefined || submission === null) return { reply: jsonReply(400, { error: "No submission key provided." }) };
  const id = pythonStr(record["id"] ?? null);
  return { xml: `<?xml version="1.0" encoding="utf-8"?>\n   <${id} id="${id}">\n${dictToXml(submission, "")}\n</${id}>\n`, files: [] };
}

function pythonStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  return String(v);
}

/** The dict2xml rendering kpi uses: two-space indents, lists as repeated elements, lists of strings joined. */
function dictToXml(value: unknown, indent: string): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${indent}${escapeXml(pythonStr(value))}`;
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const items = Array.isArray(v) && !v.every((e) => typeof e === "string") ? v : [Array.isArray(v) ? v.join(" ") : v];
    for (const item of items) {
      if (typeof item === "object" && item !== null) lines.push(`${indent}<${key}>\n${dictToXml(item, `${indent}  `)}\n${indent}</${key}>`);
      else lines.push(`${indent}<${key}>${escapeXml(pythonStr(item))}</${key}>`);
    }
  }
  return lines.join("\n");
}

function renderOutcome(req: ApiRequest, outcome: ReceiveOutcome, isJsonRequest: boolean): KoboReply {
  switch (outcome.kind) {
    case "stored":
      return successReply(req, outcome);
    case "rejected":
      if (isJsonRequest) return jsonReply(outcome.status, { error: outcome.message }, openRosaHeaders(req));
      return openRosaError(req, outcome.status, outcome.message);
    case "form-not-found":
      return errorReply(404, NOT_FOUND, negotiate(req, "xml"), {}, OPENROSA_XML);
    case "server-error":
      return textReply(500, "<h1>Server Error (500)</h1>", "text/html; charset=utf-8");
  }
}

/** kpi's OpenRosaResponse; the statuses that carry a Location header (202, 409, 423) get it. */
function openRosaError(req: ApiRequest, status: number, message: string): KoboReply {
  const body =
    "<?xml version='1.0' encoding='UTF-8' ?>\n" +
    '<OpenRosaResponse xmlns="http://openrosa.org/http/response">\n' +
    `        <message nature="">${escapeXml(message)}</message>\n` +
    "</OpenRosaResponse>";
  return textReply(status, body, OPENROSA_XML, openRosaHeaders(req, [202, 409, 423].includes(status)));
}

function successReply(req: ApiRequest, outcome: Extract<ReceiveOutcome, { kind: "stored" }>): KoboReply {
  const { instance, asset } = outcome;
  const data = {
    message: "Successful submission.",
    formid: asset.def.uid,
    encrypted: false,
    instanceID: `uuid:${instance.uuid}`,
    submissionDate: pythonIsoUtc(instance.dateCreated),
    markedAsCompleteDate: pythonIsoUtc(instance.dateModified),
  };
  const headers = openRosaHeaders(req);
  if (negotiate(req, "xml") === "json") return jsonReply(201, data, headers);
  const body =
    '<OpenRosaResponse xmlns="http://openrosa.org/http/response">\n' +
    `    <message>${escapeXml(data.message)}</message>\n` +
    `    <submissionMetadata xmlns="http://www.opendatakit.org/xforms" id="${escapeXml(data.formid)}"  instanceID="${escapeXml(data.instanceID)}"` +
    ` submissionDate="${data.submissionDate}" isComplete="true" markedAsCompleteDate="${data.markedAsCompleteDate}"/>\n` +
    "</OpenRosaResponse>";
  return textReply(201, body, OPENROSA_XML, headers);
}

/** Python's datetime.isoformat() of an aware UTC time: microseconds only when non-zero, "+00:00". */
function pythonIsoUtc(d: Date): string {
  const iso = d.toISOString();
  const ms = iso.slice(20, 23);
  return `${iso.slice(0, 19)}${ms === "000" ? "" : `.${ms}000`}+00:00`;
}
