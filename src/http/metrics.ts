/**
 * The site's metrics in the Prometheus text exposition format (version
 * 0.0.4): frames, bytes and airtime per link, duty-cycle use, events ingested
 * and refused by reason, outbox depth, poll-round latency, per-author heads,
 * how far behind each station heard is, and attachment bytes by radio.
 */
import type { Site } from "../service/site.js";
import { siteSummary, type LinkSummary } from "../service/site-status.js";

type Labels = Readonly<Record<string, string | number>>;

const escapeLabel = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "summary", help: string, samples: readonly [Labels, number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(",");
      this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
  }

  /** A summary without quantiles: only its _sum and _count. */
  summary(name: string, help: string, sum: number, count: number): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} summary`, `${name}_sum ${sum}`, `${name}_count ${count}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export function renderMetrics(site: Site): string {
  const m = new Exposition();
  const s = siteSummary(site);
  const link = (l: { index: number; kind: string; target: string }) => ({ link: l.index, kind: l.kind, target: l.target });
  m.family("meshlogd_frames_sent_total", "counter", "Frames this site put on each link.", s.links.map((l) => [link(l), l.framesSent]));
  m.family("meshlogd_frames_received_total", "counter", "Frames received on each link.", s.links.map((l) => [link(l), l.framesReceived]));
  m.family("meshlogd_bytes_sent_total", "counter", "Bytes sent on each link.", s.links.map((l) => [link(l), l.bytesSent]));
  m.family("meshlogd_bytes_received_total", "counter", "Bytes received on each link.", s.links.map((l) => [link(l), l.bytesReceived]));
  m.family("meshlogd_frames_dropped_total", "counter", "Received frames dropped, by reason.", s.links.flatMap((l) => Object.entries(l.dropped).map(([reason, n]) => [{ ...link(l), reason }, n] as [Labels, number])));
  m.family("meshlogd_airtime_seconds_total", "counter", "Time on air of this site's transmissions.", s.links.map((l) => [link(l), l.airtime.totalMs / 1000]));
  m.family("meshlogd_duty_cycle_used_ratio", "gauge", "Share of the duty-cycle budget used in the current rolling window (1 = all).", s.links.map((l) => [link(l), l.airtime.budgetMs > 0 ? l.airtime.usedMs / l.airtime.budgetMs : 0]));
  m.family("meshlogd_link_up", "gauge", "1 when the link is up.", s.links.map((l) => [link(l), l.state === "up" ? 1 : 0]));
  const counters = site.store.counterValues();
  const ingest = Object.entries(counters).filter(([k]) => k.startsWith("ingest.")).map(([k, n]) => [{ outcome: k.slice(7) }, n] as [Labels, number]);
  const refused = Object.entries(counters).filter(([k]) => k.startsWith("refused.")).map(([k, n]) => [{ reason: k.slice(8) }, n] as [Labels, number]);
  m.family("meshlogd_events_ingested_total", "counter", "Events received from other sites, by outcome.", ingest);
  m.family("meshlogd_events_refused_total", "counter", "Events refused, by reason.", refused);
  m.family("meshlogd_hlc_skew_violations_total", "counter", "Events applied whose clock stamps ran beyond this site's bound (not followed), by author.", s.clock.violations.map((v) => [{ author: v.author.slice(0, 16), ...(v.name ? { name: v.name } : {}) }, v.count]));
  m.family("meshlogd_hlc_causal_ahead_total", "counter", "Local edits stamped beyond this site's clock and bound, to order after a record's newer stamp.", [[{}, s.clock.causalAhead]]);
  m.family("meshlogd_events", "gauge", "Events held.", [[{}, s.store.events]]);
  m.family("meshlogd_records", "gauge", "Records in the view, by type and state.", s.forms.flatMap((f) => (f.records ? [[{ type: f.type, state: "alive" }, f.records.alive], [{ type: f.type, state: "deleted" }, f.records.deleted]] : []) as [Labels, number][]));
  m.family("meshlogd_outbox_entries", "gauge", "Write-back outbox entries by state.", Object.entries(s.outbox).map(([state, n]) => [{ state }, n]));
  const r = site.rounds();
  m.summary("meshlogd_poll_round_seconds", "Duration of poll-and-write rounds against the local server.", r.totalMs / 1000, r.count);
  m.family("meshlogd_poll_round_last_seconds", "gauge", "Duration of the last poll-and-write round.", [[{}, (r.lastMs ?? 0) / 1000]]);
  m.family("meshlogd_server_up", "gauge", "1 when the local form server answers.", [[{ kind: s.server.kind }, s.server.state === "ok" ? 1 : 0]]);
  m.family("meshlogd_author_head_seq", "gauge", "Newest event held per author.", [...site.store.frontier()].map(([author, seq]) => [{ author: author.slice(0, 16) }, seq]));
  m.family("meshlogd_station_behind_events", "gauge", "Events this site holds that a station heard lacks (its lag).", site.radios.flatMap((rd) => rd.station.status().heard.map((h) => [{ link: rd.index, station: h.name ?? h.station }, h.behind ?? 0] as [Labels, number])));
  m.family("meshlogd_station_ahead_events", "gauge", "Events a station heard holds that this site lacks.", site.radios.flatMap((rd) => rd.station.status().heard.map((h) => [{ link: rd.index, station: h.name ?? h.station }, h.ahead ?? 0] as [Labels, number])));
  m.family("meshlogd_uptime_seconds", "gauge", "Seconds since the site started.", [[{}, s.site.uptimeS]]);
  blobFamilies(m, site, s.links);
  return m.text();
}

const linkLabels = (l: LinkSummary): Labels => ({ link: l.index, kind: l.kind, target: l.target });

/** Attachment bytes: held by the site (one store for all links), and per link what it wants, receives and sends. */
function blobFamilies(m: Exposition, site: Site, links: readonly LinkSummary[]): void {
  const held = site.store.blobs.stats();
  m.family("meshlogd_blobs_held", "gauge", "Attachment blobs held whole.", [[{}, held.count]]);
  m.family("meshlogd_blob_bytes_held", "gauge", "Bytes of the attachment blobs held whole.", [[{}, held.bytes]]);
  const per = (f: (b: NonNullable<LinkSummary["blobs"]>) => number): [Labels, number][] =>
    links.flatMap((l) => (l.blobs ? [[linkLabels(l), f(l.blobs)] as [Labels, number]] : []));
  m.family("meshlogd_blobs_wanted", "gauge", "Blobs this link fetches and the site does not hold yet (partials included).", per((b) => b.wanted.count));
  m.family("meshlogd_blob_bytes_wanted", "gauge", "Declared bytes of the blobs wanted.", per((b) => b.wanted.bytes));
  m.family("meshlogd_blobs_partial", "gauge", "Blobs part-way received on this link.", per((b) => b.partial.count));
  m.family("meshlogd_blob_bytes_partial_received", "gauge", "Bytes of the part-way received blobs held so far.", per((b) => b.partial.received));
  m.family("meshlogd_blob_wants_sent_total", "counter", "Blob wants sent.", per((b) => b.counters.wantsSent));
  m.family("meshlogd_blob_chunks_sent_total", "counter", "Blob chunks sent.", per((b) => b.counters.chunksSent));
  m.family("meshlogd_blob_partial_chunks_sent_total", "counter", "Blob chunks sent from a blob still part-way received here (relayed as they came).", per((b) => b.counters.partialChunksSent));
  m.family("meshlogd_blob_chunks_received_total", "counter", "Blob chunks received, by outcome.", links.flatMap((l) => {
    const c = l.blobs?.counters;
    if (!c) return [];
    const outcomes = { kept: c.chunksKept, duplicate: c.duplicateChunks, unwanted: c.unwantedChunks, bad: c.badChunks };
    return Object.entries(outcomes).map(([outcome, n]) => [{ ...linkLabels(l), outcome }, n] as [Labels, number]);
  }));
  m.family("meshlogd_blob_chunks_suppressed_total", "counter", "Chunks owed and overheard from another station first (not sent).", per((b) => b.counters.suppressedChunks));
  m.family("meshlogd_blobs_received_total", "counter", "Blobs joined from chunks and stored (their hash checked).", per((b) => b.counters.blobsStored));
  m.family("meshlogd_blob_bad_assemblies_total", "counter", "Blobs whose joined chunks did not hash right: discarded and fetched again.", per((b) => b.counters.badAssemblies));
}
