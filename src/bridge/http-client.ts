/**
 * The bridge's one way to talk HTTP: undici with a timeout on every call and
 * a bound on response size. Network failures and timeouts are values, not
 * exceptions, so pollers and writers branch on them (retry, never drop).
 */
import { createHash } from "node:crypto";
import { Agent, FormData, request } from "undici";

export type HttpBody = string | Buffer | FormData;

export interface HttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  /** An absolute URL, or a path resolved against the client's base URL. */
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: HttpBody;
}

export interface HttpResponse {
  readonly kind: "response";
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** Why no response arrived: the server could not be reached, or did not answer in time. */
export interface HttpFailure {
  readonly kind: "network" | "timeout";
  readonly message: string;
}

export type HttpOutcome = HttpResponse | HttpFailure;

export interface HttpClientOptions {
  readonly baseUrl: string;
  /** Limit for the whole exchange (connect, headers, body). */
  readonly timeoutMs: number;
  /** Responses larger than this are cut off and reported as a network failure (a hostile or broken server). */
  readonly maxResponseBytes?: number;
  readonly connections?: number;
}

/** Default response bound: a page of 1,000 large submissions fits; a runaway body does not. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A file fetched by `download`: its SHA-256 and size over the whole body, the bytes only up to the caller's limit. */
export interface HttpFile {
  readonly kind: "file";
  readonly headers: Record<string, string | string[] | undefined>;
  readonly size: number;
  readonly sha256: Buffer;
  /** The body, or null when it was larger than `keepBytes` (then only hashed, never held). */
  readonly bytes: Buffer | null;
}

export interface HttpClient {
  readonly baseUrl: string;
  send(req: HttpRequest): Promise<HttpOutcome>;
  /**
   * Like send, but a 200 body is streamed through SHA-256 rather than held
   * whole: any size can be hashed, and at most `keepBytes` are kept. Other
   * statuses come back as an HttpResponse (bounded like send's).
   */
  download(req: HttpRequest, keepBytes: number): Promise<HttpFile | HttpOutcome>;
  close(): Promise<void>;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const agent = new Agent({
    connections: options.connections ?? 4,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  });

  const resolve = (u: string): string => (/^https?:\/\//.test(u) ? u : `${baseUrl}${u.startsWith("/") ? "" : "/"}${u}`);

  /** Reads a whole body, within the response bound. */
  async function collect(method: string, url: string, status: number, headers: HttpResponse["headers"], body: AsyncIterable<unknown> & { destroy(): void }): Promise<HttpOutcome> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > maxBytes) {
        body.destroy();
        return { kind: "network", message: `${method} ${url}: response larger than ${maxBytes} bytes` };
      }
      chunks.push(b);
    }
    return { kind: "response", status, headers, body: Buffer.concat(chunks) };
  }

  async function send(req: HttpRequest): Promise<HttpOutcome> {
    const url = resolve(req.url);
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const res = await request(url, { method: req.method, headers: req.headers, body: req.body, dispatcher: agent, signal });
      return await collect(req.method, url, res.statusCode, res.headers, res.body);
    } catch (err) {
      return describeFailure(req.method, url, err, signal.aborted, options.timeoutMs);
    }
  }

  async function download(req: HttpRequest, keepBytes: number): Promise<HttpFile | HttpOutcome> {
    const url = resolve(req.url);
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const res = await request(url, { method: req.method, headers: req.headers, body: req.body, dispatcher: agent, signal });
      if (res.statusCode !== 200) return await collect(req.method, url, res.statusCode, res.headers, res.body);
      const hash = createHash("sha256");
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        hash.update(b);
        size += b.length;
        if (size <= keepBytes) kept.push(b);
      }
      return { kind: "file", headers: res.headers, size, sha256: hash.digest(), bytes: size <= keepBytes ? Buffer.concat(kept) : null };
    } catch (err) {
      return describeFailure(req.method, url, err, signal.aborted, options.timeoutMs);
    }
  }

  return {
    baseUrl,
    send,
    download,
    close: () => agent.close(),
  };
}

function describeFailure(method: string, url: string, err: unknown, aborted: boolean, timeoutMs: number): HttpFailure {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? "";
  if (aborted || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
    return { kind: "timeout", message: `${method} ${url}: no answer within ${timeoutMs} ms` };
  }
  const detail = e.cause?.message ?? e.message ?? String(err);
  return { kind: "network", message: `${method} ${url}: ${code ? `${code} ` : ""}${detail}` };
}

export { FormData };
