/**
 * An HTTP client that sends exactly the bytes it is given (no normalising of
 * paths, no checks of methods or headers), optionally in pieces with pauses,
 * and reads back whatever the server answers: for throwing malformed and
 * hostile requests at a server. Every exchange ends within its timeout.
 */
import { connect } from "node:net";

export interface RawAnswer {
  /** 0 when the server sent no status line. */
  readonly status: number;
  /** Header names in lower case; repeated ones joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The exchange ended (a whole answer arrived or the server closed the connection) before the timeout. */
  readonly ended: boolean;
  /** Milliseconds from the first byte sent to the connection ending. */
  readonly ms: number;
}

export interface RawRequest {
  /** The request's bytes, or pieces of it sent `pauseMs` apart. */
  readonly bytes: string | Buffer | readonly (string | Buffer)[];
  readonly pauseMs?: number;
  /** The answer to a HEAD request has no body, whatever its Content-Length says. */
  readonly head?: boolean;
}

/** The body of a chunked message, or what could be decoded of it. */
function unchunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = Number.parseInt(raw.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** The first response in `raw` (a 100 Continue before it is skipped). */
export function parseAnswer(raw: Buffer, head = false): Omit<RawAnswer, "ended" | "ms"> {
  let start = 0;
  for (;;) {
    const end = raw.indexOf("\r\n\r\n", start);
    if (end < 0) return { status: 0, headers: {}, body: raw.subarray(start) };
    const lines = raw.subarray(start, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
    if (status === 100) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const rest = raw.subarray(end + 4);
    if (head) return { status, headers, body: Buffer.alloc(0) };
    const body = /chunked/i.test(headers["transfer-encoding"] ?? "") ? unchunk(rest)
      : headers["content-length"] !== undefined ? rest.subarray(0, Number(headers["content-length"])) : rest;
    return { status, headers, body };
  }
}

/** True once `raw` holds a whole response: its headers and as much body as they announce. */
function isComplete(raw: Buffer, head = false): boolean {
  const a = parseAnswer(raw, head);
  if (a.status === 0) return false;
  if (head || a.status === 204 || a.status === 304) return true;
  if (/chunked/i.test(a.headers["transfer-encoding"] ?? "")) return raw.includes("\r\n0\r\n\r\n");
  const length = a.headers["content-length"];
  return length !== undefined && a.body.length >= Number(length);
}

/** Sends `r` to 127.0.0.1:`port` and returns what came back: once a whole answer arrived, the server closed, or `timeoutMs` passed. */
export function sendRaw(port: number, r: RawRequest, timeoutMs: number): Promise<RawAnswer> {
  const pieces = typeof r.bytes === "string" || Buffer.isBuffer(r.bytes) ? [r.bytes] : [...r.bytes];
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let pacer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(pacer);
      socket.destroy();
      resolve({ ...parseAnswer(Buffer.concat(chunks), r.head), ended, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      if (isComplete(Buffer.concat(chunks), r.head)) finish(true);
    });
    socket.on("error", () => undefined); // a reset is an ending like any other: what arrived is the answer
    socket.on("close", () => finish(true));
    const next = (i: number) => {
      const piece = pieces[i];
      if (piece === undefined || socket.destroyed) return;
      socket.write(piece);
      pacer = setTimeout(() => next(i + 1), r.pauseMs ?? 0);
    };
    socket.on("connect", () => next(0));
  });
}
