/**
 * What can go wrong talking to the local form server, as values. The split
 * decides what the bridge does next: transient failures are retried with
 * back-off, auth failures wait for the admin, rejections are handled by the
 * caller (a 409 or 410 is information, not an outage).
 */
import type { z } from "zod";
import type { HttpOutcome, HttpResponse } from "./http-client.js";

export type UpstreamError =
  /** No answer: connection refused or reset, DNS, timeout. Retried. */
  | { readonly kind: "unreachable"; readonly message: string }
  /** The server answered 5xx, 423 (busy) or 429. Retried. */
  | { readonly kind: "server"; readonly status: number; readonly message: string }
  /** A 2xx whose body is not what the API documents (garbage JSON or XML). Retried: often a proxy hiccup. */
  | { readonly kind: "bad-response"; readonly message: string }
  /** 401 or 403: credentials or permissions. Retried only after a long pause; the admin must act. */
  | { readonly kind: "auth"; readonly status: number; readonly message: string }
  /** Any other 4xx: the server understood and said no; `code` is ODK Central's error code (e.g. 409.9). */
  | { readonly kind: "rejected"; readonly status: number; readonly code: number | null; readonly message: string };

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: UpstreamError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(error: UpstreamError): Result<T> {
  return { ok: false, error };
}

/** True for failures a retry after back-off can cure without anyone acting. */
export function isTransient(e: UpstreamError): boolean {
  return e.kind === "unreachable" || e.kind === "server" || e.kind === "bad-response";
}

export function describeError(e: UpstreamError): string {
  switch (e.kind) {
    case "unreachable":
    case "bad-response":
      return e.message;
    case "server":
    case "auth":
      return `HTTP ${e.status}: ${e.message}`;
    case "rejected":
      return `HTTP ${e.status}${e.code !== null ? ` (code ${e.code})` : ""}: ${e.message}`;
  }
}

/** A short excerpt of a body for an error message (never the whole page). */
export function excerpt(body: Buffer): string {
  const s = body.subarray(0, 300).toString("utf8").replace(/\s+/g, " ").trim();
  return body.length > 300 ? `${s}…` : s;
}

/**
 * Classifies an outcome that is not the success the caller expected. `what`
 * says which call it was ("GET /api/v2/assets/…/data/") and `detail` turns a
 * 4xx body into a message and (for Central) a numeric code.
 */
export function classifyFailure(
  what: string,
  out: HttpOutcome,
  detail: (res: HttpResponse) => { message: string; code: number | null },
): UpstreamError {
  if (out.kind !== "response") return { kind: "unreachable", message: out.message };
  const { status } = out;
  if (status >= 500 || status === 423 || status === 429) {
    return { kind: "server", status, message: `${what}: the server answered ${status} ${excerpt(out.body)}` };
  }
  const d = detail(out);
  if (status === 401 || status === 403) return { kind: "auth", status, message: `${what}: ${d.message}` };
  if (status >= 400) return { kind: "rejected", status, code: d.code, message: `${what}: ${d.message}` };
  return { kind: "bad-response", message: `${what}: unexpected status ${status} ${excerpt(out.body)}` };
}

/** Parses a JSON body against a zod schema; garbage or a wrong shape is a bad-response error. */
export function parseJson<T>(what: string, res: HttpResponse, schema: z.ZodType<T>): Result<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(res.body.toString("utf8"));
  } catch {
    return fail({ kind: "bad-response", message: `${what}: the body is not JSON: ${excerpt(res.body)}` });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join(".") || "(top)" : "(top)";
    return fail({ kind: "bad-response", message: `${what}: unexpected JSON at ${where}: ${issue?.message ?? "invalid"}` });
  }
  return ok(parsed.data);
}
