/**
 * Starts a configured site as `meshlogd run` does: identity, store, bridge,
 * links, then the HTTP API and admin page; and stops it in the reverse order
 * (no new requests, the running poll round finished, links closed, the
 * database closed), so a restart resumes where it stopped.
 */
import { createApi } from "../http/api.js";
import { listenHttp, type HttpServer } from "../http/server.js";
import { loadIdentity } from "../engine/store/identity-file.js";
import type { Logger } from "../log/logger.js";
import type { Clock } from "../radio/clock.js";
import type { Express, RequestHandler } from "express";
import type { LoadedConfig } from "./site-config.js";
import { createSite, type Site } from "./site.js";
import type { LinkFactory } from "./site-radio.js";

export interface RunningSite {
  readonly site: Site;
  readonly http: HttpServer;
  stop(): Promise<void>;
}

export interface StartSiteOptions {
  readonly loaded: LoadedConfig;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly makeLink?: LinkFactory;
  /** Extra API routes (bundle import). */
  readonly extendApi?: (app: Express, requireToken: RequestHandler, site: Site) => void;
  /** Overrides the config's port (the embedded demo picks free ports). */
  readonly port?: number;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export async function startSite(o: StartSiteOptions): Promise<RunningSite> {
  const { loaded, log } = o;
  const config = loaded.config;
  const signer = loadIdentity(loaded.identityFile);
  const site = createSite({
    config, signer, dataDir: loaded.dataDir, log, ...(o.clock ? { clock: o.clock } : {}), ...(o.makeLink ? { makeLink: o.makeLink } : {}),
  });
  log.info("site starting", { site: config.site.name, author: signer.author, network: config.network.name, data: loaded.dataDir, sealed: config.network.key !== undefined });
  if (!config.network.key) log.warn("no network.key: frames go on air unsealed, readable by anyone listening; set one for field data");
  if (!LOOPBACK.test(config.http.bind) && !config.http.token) log.warn("the API listens beyond this machine without a token: write endpoints stay off, but anyone on the network can read records", { bind: config.http.bind });
  try {
    await site.start();
  } catch (err) {
    await site.stop();
    throw err;
  }
  let http: HttpServer;
  try {
    const app = createApi({ site, log, ...(config.http.token ? { token: config.http.token } : {}), ...(o.extendApi ? { extend: (a, t) => o.extendApi?.(a, t, site) } : {}) });
    http = await listenHttp(app, config.http.bind, o.port ?? config.http.port);
  } catch (err) {
    await site.stop();
    throw err;
  }
  log.info("admin page and API ready", { url: http.url });
  return {
    site, http,
    async stop() {
      log.info("site stopping");
      await http.close();
      await site.stop();
      log.info("site stopped; the database is closed");
    },
  };
}
