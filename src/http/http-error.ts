/**
 * The one error type of the HTTP API, and the one place it becomes a JSON
 * answer: `{ "error": message }` with the status, for every failure.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../log/logger.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Unknown paths answer 404 in JSON, naming the path. */
export const notFound: RequestHandler = (req) => {
  throw new HttpError(404, `no such endpoint: ${req.method} ${req.path} (see GET /api for the list)`);
};

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly limit?: number;
}

/** Turns any error into a JSON body; unexpected ones are logged and answered 500 without internals. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) return void res.status(err.status).json({ error: err.message });
    const parser = err as BodyParserError;
    if (parser.type === "entity.too.large") return void res.status(413).json({ error: `the request body is larger than the limit of ${parser.limit ?? "?"} bytes` });
    if (parser.type === "entity.parse.failed") return void res.status(400).json({ error: "the request body is not valid JSON" });
    if (typeof parser.status === "number" && parser.status >= 400 && parser.status < 500) {
      return void res.status(parser.status).json({ error: err instanceof Error ? err.message : "bad request" });
    }
    log.error("request failed", { method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err) });
    res.status(500).json({ error: "internal error; the site's log has the details" });
  };
}
