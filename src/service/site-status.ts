/**
 * What a running site reports about itself, as plain JSON values: the status
 * API, the admin page, `meshlogd status` and the metrics all read these, so
 * they never disagree.
 */
import { createRequire } from "node:module";
import { frontierTotal } from "../engine/frontier.js";
import type { AuthorId } from "../engine/ids.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { TypeCount } from "../engine/store/store-queries.js";
import type { BlobStatus } from "../engine/sync/blob-transfer.js";
import { attentionLines, readRemovals, readSkew, type SkewSummary } from "./site-attention.js";
import type { ServerState, Site } from "./site.js";
import type { SiteRadio } from "./site-radio.js";

/** The package version, for the status API: read from package.json (beside dist/ in a checkout and in the image). */
export const VERSION = (createRequire(import.meta.url)("../../../package.json") as { version: string }).version;

export interface SiteSummary {
  readonly site: { name: string; author: AuthorId; network: string; sealed: boolean; version: string; node: string; startedAt: string; uptimeS: number };
  readonly server: ServerState & { kind: string; url: string };
  readonly store: { events: number; records: number; authors: number; conflicts: number; gapBuffered: number };
  readonly outbox: { pending: number; written: number; failed: number };
  readonly clock: ClockSummary;
  readonly forms: readonly FormSummary[];
  readonly links: readonly LinkSummary[];
  /** Problems a person should act on, worded for the admin page's banner; empty when all is well. */
  readonly attention: readonly string[];
}

/** The bound on followed clock skew, the authors whose stamps went beyond it, and local edits stamped beyond it. */
export interface ClockSummary extends SkewSummary {
  /** Local edits stamped beyond this clock and the bound, to order after a record's newer stamp (hlc.causal-ahead). */
  readonly causalAhead: number;
}

export interface FormSummary {
  readonly type: string;
  readonly source: string;
  readonly describe: string;
  readonly records: TypeCount | null;
  readonly lastPollAt: string | null;
  readonly lastPollError: string | null;
  readonly lastWriteError: string | null;
  readonly totals: { events: number; echoes: number; written: number; writeFailures: number };
  /** Attachments (policy metadata or transfer): see BridgeFormStatus.files. */
  readonly files: { events: number; metadataOnly: number; checksOpen: number; awaitingBytes: number; lastError: string | null };
}

export interface LinkSummary {
  readonly index: number;
  readonly kind: string;
  readonly target: string;
  readonly state: string;
  readonly reason: string | null;
  readonly region: string;
  readonly dutyCycle: number;
  readonly settings: Readonly<Record<string, unknown>> | null;
  readonly airtime: { budgetMs: number; windowMs: number; usedMs: number; leftMs: number; totalMs: number };
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly dropped: Readonly<Record<string, number>>;
  readonly stationsHeard: number;
  /**
   * Attachment bytes by radio on this link: blobs held (the site's, shared by
   * every link), wanted and part-way received here, and the link's blob
   * traffic counters; null when the link moves no blobs.
   */
  readonly blobs: BlobStatus | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A time on a station's clock (monotonic, not the epoch) as wall-clock ms, by its distance from now. */
const wallOf = (r: SiteRadio, clockMs: number, now: number): number => now - (r.clock.now() - clockMs);

function linkSummary(r: SiteRadio): LinkSummary {
  const ls = r.link.status();
  const st = r.station.status();
  const settings = r.config.kind === "rnode"
    ? { frequency: r.config.frequency, bandwidth: r.config.bandwidth, spreading_factor: r.config.spreading_factor, coding_rate: r.config.coding_rate, tx_power: r.config.tx_power }
    : { bind: r.config.bind, peers: r.config.peers };
  const dropped: Record<string, number> = { ...ls.dropped };
  for (const [reason, n] of Object.entries(r.codec.stats.dropped)) if (n > 0) dropped[`air.${reason}`] = n;
  for (const [reason, n] of Object.entries(r.node.stats.dropped)) if (n > 0) dropped[`sync.${reason}`] = n;
  const { history: _history, ...airtime } = st.airtime;
  return {
    index: r.index, kind: ls.kind, target: ls.target, state: ls.state, reason: ls.reason ?? null, region: r.region,
    dutyCycle: airtime.windowMs > 0 ? airtime.budgetMs / airtime.windowMs : 1, settings: { ...settings, ...(ls.details ?? {}) }, airtime,
    framesSent: ls.framesSent, framesReceived: ls.framesReceived, bytesSent: ls.bytesSent, bytesReceived: ls.bytesReceived,
    dropped, stationsHeard: st.heard.length, blobs: r.node.blobStatus() ?? null,
  };
}

/** The view's running totals, read in one query: records and conflicts in all, and records per type. */
interface ViewTotals {
  readonly records: number;
  readonly conflicts: number;
  /** Types that have records, in type order. */
  readonly byType: readonly TypeCount[];
}

function viewTotals(store: SqliteStore): ViewTotals {
  const rows = store.db.prepare("SELECT type, alive, deleted, conflicts FROM view_counts ORDER BY type").all() as { type: string; alive: number; deleted: number; conflicts: number }[];
  let records = 0;
  let conflicts = 0;
  for (const r of rows) {
    records += r.alive + r.deleted;
    conflicts += r.conflicts;
  }
  return { records, conflicts, byType: rows.filter((r) => r.alive + r.deleted > 0).map((r) => ({ type: r.type, alive: r.alive, deleted: r.deleted })) };
}

/**
 * The whole status of the site, reading each thing once: the server's state,
 * the bridge's status, each link, the view's totals (one query), the clock.
 */
export function siteSummary(site: Site, now = Date.now()): SiteSummary {
  const store = site.store;
  const server = site.server();
  const bridge = site.bridge.status();
  const totals = viewTotals(store);
  const links = site.radios.map(linkSummary);
  const skew = readSkew(site);
  const clock: ClockSummary = { maxForwardSkewH: skew.maxForwardSkewH, causalAhead: store.counterValues()["hlc.causal-ahead"] ?? 0, violations: skew.violations };
  return {
    site: {
      name: site.config.site.name, author: site.signer.author, network: site.config.network.name, sealed: site.config.network.key !== undefined,
      version: VERSION, node: process.version, startedAt: new Date(site.startedAt).toISOString(), uptimeS: Math.round((now - site.startedAt) / 1000),
    },
    server: { ...server, kind: site.config.server.kind, url: site.config.server.url },
    store: { events: store.eventCount(), records: totals.records, authors: store.frontier().size, conflicts: totals.conflicts, gapBuffered: store.gapBufferSize() },
    outbox: bridge.outbox,
    clock,
    forms: bridge.forms.map((f) => ({
      type: f.type, source: f.source, describe: f.describe, records: totals.byType.find((c) => c.type === f.type) ?? null,
      lastPollAt: iso(f.lastPollAt), lastPollError: f.lastPollError, lastWriteError: f.lastWriteError, totals: { ...f.totals },
      files: { ...f.files },
    })),
    links,
    attention: attentionLines({ server, problems: site.problems(), forms: bridge.forms, links, skew: clock, removals: readRemovals(site) }, now),
  };
}

/** Stations heard on every link: last heard, RSSI, SNR, how far behind or ahead. */
export function peersOf(site: Site, now = Date.now()): { link: number; station: string; name: string | null; lastHeardAt: string; rssi: number | null; snr: number | null; frames: number; behind: number | null; ahead: number | null }[] {
  return site.radios.flatMap((r) =>
    r.station.status().heard.map((h) => ({
      link: r.index, station: h.station, name: h.name ?? null, lastHeardAt: new Date(wallOf(r, h.lastHeardAt, now)).toISOString(),
      rssi: h.rssi ?? null, snr: h.snr ?? null, frames: h.frames, behind: h.behind ?? null, ahead: h.ahead ?? null,
    })),
  );
}

/** This site's frontier: per author its name and newest seq; and per station heard how far apart it is. */
export function syncOf(site: Site): { total: number; authors: { author: AuthorId; name: string | null; seq: number; self: boolean }[]; stations: ReturnType<typeof peersOf> } {
  const frontier = site.store.frontier();
  const names = new Map(site.store.members().map((m) => [m.author, m.name] as const));
  names.set(site.signer.author, site.config.site.name);
  return {
    total: frontierTotal(frontier),
    authors: [...frontier].map(([author, seq]) => ({ author, name: names.get(author) ?? null, seq, self: author === site.signer.author })),
    stations: peersOf(site),
  };
}

/** Per link: settings, the duty-cycle budget and the airtime used in each minute of the last hour (the chart), bucket starts in epoch ms. */
export function radioOf(site: Site, now = Date.now()): { links: (LinkSummary & { history: { startMs: number; airtimeMs: number }[] })[] } {
  return {
    links: site.radios.map((r) => ({
      ...linkSummary(r),
      history: r.station.status().airtime.history.map((b) => ({ startMs: Math.round(wallOf(r, b.startMs, now)), airtimeMs: b.airtimeMs })),
    })),
  };
}
