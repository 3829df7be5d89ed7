/**
 * POST /api/import: a bundle uploaded as the request body
 * (application/octet-stream), spooled beside the database, verified whole,
 * then ingested through the same checks as radio traffic. Needs the token.
 */
import { tmpdir } from "node:os";
import type { Express, RequestHandler } from "express";
import { importBundle } from "../bundle/index.js";
import type { Logger } from "../log/logger.js";
import { parseNetworkKey } from "../radio/air/network-key.js";
import type { Site } from "../service/site.js";
import { HttpError } from "./http-error.js";

/** Largest bundle accepted over HTTP: a year of a busy site's feeds is far less. */
export const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;

/** The upload as chunks, refused once it passes `limit` bytes. */
async function* capped(body: AsyncIterable<Uint8Array>, limit: number): AsyncIterable<Uint8Array> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > limit) throw new HttpError(413, `the bundle is larger than ${limit} bytes; import it on the site's machine with \`meshlogd import FILE\``);
    yield chunk;
  }
}

export function mountImport(app: Express, requireToken: RequestHandler, site: Site, log: Logger): void {
  app.post("/api/import", requireToken, async (req, res) => {
    const declared = Number(req.get("content-length") ?? "0");
    if (declared > MAX_IMPORT_BYTES) throw new HttpError(413, `the bundle is larger than ${MAX_IMPORT_BYTES} bytes`);
    const type = req.get("content-type") ?? "";
    if (!/^application\/octet-stream\b/i.test(type)) throw new HttpError(415, "send the bundle file as the body with Content-Type: application/octet-stream");
    const key = site.config.network.key ? parseNetworkKey(site.config.network.key, "network.key") : null;
    const name = typeof req.query.name === "string" ? req.query.name.slice(0, 200) : "uploaded bundle";
    const r = await importBundle(site.store, { stream: capped(req, MAX_IMPORT_BYTES), name, spoolDir: site.dataDir === ":memory:" ? tmpdir() : site.dataDir }, {
      networkKey: key, network: site.config.network.name,
    });
    if (!r.ok) {
      log.warn("bundle refused", { problem: r.problem, reason: r.message });
      return void res.status(422).json({ error: r.message, problem: r.problem });
    }
    log.info("bundle imported", { applied: r.counts.applied, duplicates: r.counts.duplicates, refused: r.counts.refused });
    if (r.counts.applied > 0) {
      site.changed();
      void site.pollNow();
    }
    res.json({ ok: true, message: r.message, counts: r.counts, gaps: r.gaps, warnings: r.warnings });
  });
}
