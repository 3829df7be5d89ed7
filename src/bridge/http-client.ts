/**
 * The bridge's one way to talk HTTP: undici with a timeout on every call and
 * a bound on response size. Network failures and timeouts are values, not
 * exceptions, so pollers and writers branch on them (retry, never drop).
 */
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

export interface HttpClient {
  readonly baseUrl: string;
  send(req: HttpRequest): Promise<HttpOutcome>;
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

  async function send(req: HttpRequest): Promise<HttpOutcome> {
    const url = /^https?:\/\//.test(req.url) ? req.url : `${baseUrl}${req.url.startsWith("/") ? "" : "/"}${req.url}`;
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const res = await request(url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: agent,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > maxBytes) {
          res.body.destroy();
          return { kind: "network", message: `${req.method} ${url}: response larger than ${maxBytes} bytes` };
        }
        chunks.push(b);
      }
      return { kind: "response", status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } catch (err) {
      return describeFailure(req.method, url, err, signal.aborted, options.timeoutMs);
    }
  }

  return {
    baseUrl,
    send,
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
