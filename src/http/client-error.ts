/**
 * Requests Node's HTTP server refuses before express sees them (not HTTP,
 * headers over the size limit, a bad chunk, a request that arrives too
 * slowly, CONNECT, an unknown Expect, HTTP/1.1 without Host) answered like
 * every other failure of the API: a JSON body with an `error` message, then
 * the connection closed. Node's own answers have no body, or no answer at all.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";

function jsonResponse(status: number, reason: string, error: string): string {
  const body = JSON.stringify({ error });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

function refuse(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close" }).end(body);
}

/** Status and message for a parser error code (Node's `clientError` codes). */
function answerFor(code: string | undefined): { status: number; reason: string; error: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, reason: "Request Header Fields Too Large", error: "the request's URL and headers are larger than the limit (16 KB): send a shorter URL or fewer headers" };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, reason: "Payload Too Large", error: "the request's chunk extensions are larger than the limit" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, reason: "Request Timeout", error: "the request did not arrive in time; send it whole" };
    default:
      return { status: 400, reason: "Bad Request", error: `the request is not valid HTTP (${code ?? "unparsable"})` };
  }
}

/** Installs the JSON answer for parser errors on `server`. */
export function answerClientErrorsInJson(server: Server): void {
  // The response in flight on each connection: an error answer must never be written into one already started.
  const inFlight = new WeakMap<Socket, ServerResponse>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res);
    res.on("finish", () => inFlight.delete(req.socket));
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const res = inFlight.get(socket);
    if (err.code !== "ECONNRESET" && socket.writable && !res?.headersSent) {
      const a = answerFor(err.code);
      socket.write(jsonResponse(a.status, a.reason, a.error));
    }
    socket.destroy(err);
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.end(jsonResponse(405, "Method Not Allowed", "CONNECT is not supported: this is the site's API, not a proxy"));
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    refuse(res, 417, `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported (only 100-continue)`);
  });
}

/** `handler`, but an HTTP/1.1 request without a Host header (which RFC 9112 says to refuse) is refused in JSON. */
export function requireHost(handler: RequestListener): RequestListener {
  return (req, res) => {
    if (req.httpVersion === "1.1" && req.headers.host === undefined) return refuse(res, 400, "an HTTP/1.1 request needs a Host header");
    handler(req, res);
  };
}
