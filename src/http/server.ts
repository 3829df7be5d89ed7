/**
 * Listens for the API on the configured address; a port in use or not
 * permitted is an error that says which and what to do. Clients too slow to
 * send their request are cut off, and requests Node cannot parse are
 * answered in JSON like every other failure (client-error.ts).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestListener } from "node:http";
import { answerClientErrorsInJson, requireHost } from "./client-error.js";

/** How long stop() waits for requests in flight before closing their connections. */
export const HTTP_CLOSE_GRACE_MS = 2_000;

/** How long a client may take to send a request's headers, and the whole request; slower ones are answered 408 and cut off. */
export interface HttpTimeouts {
  readonly headersMs: number;
  readonly requestMs: number;
  /** How often Node checks connections against those limits (a slow client may last up to this much longer). */
  readonly checkEveryMs: number;
}

/** A bundle upload on a slow LAN fits in a minute; headers come in one packet, 20 s is generous. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 20_000, requestMs: 60_000, checkEveryMs: 5_000 };

export class HttpListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpListenError";
  }
}

export interface HttpServer {
  /** The address to print, e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function listenHttp(handler: RequestListener, bind: string, port: number, timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS): Promise<HttpServer> {
  // Node's own Host check answers without a body: requireHost answers in JSON instead.
  const server: Server = createServer({ connectionsCheckingInterval: timeouts.checkEveryMs, requireHostHeader: false }, requireHost(handler));
  server.requestTimeout = timeouts.requestMs;
  server.headersTimeout = timeouts.headersMs;
  answerClientErrorsInJson(server);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = `${bind}:${port}`;
      const why =
        err.code === "EADDRINUSE" ? `${where} is already in use (another meshlogd, or another program): stop it or set http.port in the config`
        : err.code === "EACCES" ? `${where} needs privileges: use a port above 1024 in http.port`
        : err.code === "EADDRNOTAVAIL" ? `${bind} is not an address of this machine: fix http.bind (127.0.0.1 keeps the page private)`
        : `cannot listen on ${where}: ${err.message}`;
      reject(new HttpListenError(why));
    });
    server.listen(port, bind, () => {
      const a = server.address() as AddressInfo;
      const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${a.port}/`,
        port: a.port,
        close: () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
