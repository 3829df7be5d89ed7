// @ts-check
/**
 * The radio side: each link's airtime against its budget (gauge and chart)
 * and the attachment bytes it moves (blobs-view.js), the stations heard, and whether their data matches ours (bars of the
 * events each holds), with the events of each author held here.
 */
import { blobSection } from "./blobs-view.js";
import { airtimeChart, airtimeGauge, signalBars, stackedBar } from "./charts.js";
import { badge, byId, empty, fill, h, table } from "./dom.js";
import { airtime, count, percent, shortId } from "./format.js";
import { timeAgo } from "./time-ago.js";

const LINK_NAMES = /** @type {Record<string, string>} */ ({ rnode: "Radio", sim: "Radio (simulated)", udp: "LAN link (UDP)" });

/** @param {any} l */
function linkState(l) {
  if (l.state === "up") return badge("ok", l.kind === "udp" ? "Connected" : "On the air");
  if (l.state === "down") return badge("bad", "Down");
  if (l.state === "starting") return badge("idle", "Starting");
  return badge("idle", "Stopped");
}

/** @param {any} l */
function linkFacts(l) {
  const st = l.settings ?? {};
  const radio = typeof st.frequency === "number"
    ? `${(st.frequency / 1e6).toFixed(3)} MHz, SF${st.spreading_factor}, ${st.bandwidth / 1000} kHz`
    : null;
  return [
    radio,
    l.kind === "udp" ? null : `rule ${l.region}, may send ${percent(l.dutyCycle, 1)} of the time`,
    `${count(l.framesSent)} frames sent, ${count(l.framesReceived)} received`,
  ].filter(Boolean).join(" · ");
}

/** @param {any} l */
function linkCard(l) {
  const limited = l.dutyCycle < 1;
  const label = `${LINK_NAMES[l.kind] ?? l.kind} ${l.target}`;
  const noAirtime = l.airtime.totalMs === 0 && l.kind === "udp";
  return h("article", { class: "link", "data-link": l.index },
    h("h3", {}, label, " ", linkState(l)),
    h("p", { class: "muted" }, linkFacts(l)),
    l.state === "down" && l.reason ? h("p", { class: "error-text" }, l.reason) : null,
    noAirtime ? h("p", { class: "empty" }, "A LAN link uses no airtime and has no budget.") : [
      limited ? airtimeGauge(l.airtime) : h("p", {}, `No duty-cycle limit (rule ${l.region}): ${airtime(l.airtime.usedMs)} sent in the last hour.`),
      airtimeChart({ history: l.history, budgetMs: l.airtime.budgetMs, windowMs: l.airtime.windowMs, usedMs: l.airtime.usedMs, limited, label }),
      h("p", { class: "legend" },
        h("span", { class: "key key-use", "aria-hidden": "true" }), " used, adding up over the hour  ",
        limited ? [h("span", { class: "key key-budget", "aria-hidden": "true" }), " the hour's budget  "] : null,
        h("span", { class: "key key-bar", "aria-hidden": "true" }), " airtime in each minute"),
    ],
    blobSection(l),
  );
}

/**
 * One card per link.
 * @param {any} radio the JSON of /api/radio
 */
export function renderRadio(radio) {
  const links = radio.links;
  fill(byId("radio"), links.length === 0 ? empty("This site has no radio or LAN link configured.") : links.map(linkCard));
}

/** @param {any} p */
function dataWords(p) {
  if (p.behind === null && p.ahead === null) return h("span", { class: "muted" }, "Not known yet");
  if (!p.behind && !p.ahead) return badge("ok", "In step");
  return h("span", {},
    p.behind ? badge("warn", `Lacks ${count(p.behind)} of ours`) : null,
    p.behind && p.ahead ? " " : null,
    p.ahead ? badge("warn", `Has ${count(p.ahead)} we lack`) : null);
}

/** @param {any} p */
const stationName = (p) => p.name ?? `station ${p.station}`;

/**
 * The stations heard, newest first.
 * @param {any[]} peers
 */
export function renderPeers(peers) {
  if (peers.length === 0) {
    fill(byId("peers"), empty("No other site or station heard yet. Sites appear here once their radio is heard."));
    return;
  }
  const sorted = [...peers].sort((a, b) => Date.parse(b.lastHeardAt) - Date.parse(a.lastHeardAt));
  fill(byId("peers"), table({
    caption: "Stations heard",
    columns: ["Site", "Last heard", "Signal", "RSSI", "SNR", "Their data"],
    numeric: [3, 4],
    nowrap: [0, 1, 2, 3, 4],
    rowHeader: true,
    rows: sorted.map((p) => [
      h("span", { "data-peer": p.name ?? p.station }, stationName(p)),
      timeAgo(p.lastHeardAt),
      signalBars(p.snr),
      p.rssi === null ? "—" : `${p.rssi} dBm`,
      p.snr === null ? "—" : `${p.snr} dB`,
      dataWords(p),
    ]),
  }));
}

/**
 * Bars of the events each site holds: ours, and each station heard as far as
 * its last report tells (held by both, only here, only there).
 * @param {any} sync the JSON of /api/sync
 */
export function renderConvergence(sync) {
  const ours = sync.total;
  const rows = [
    { name: "This site", common: ours, theyLack: 0, weLack: 0, words: `${count(ours)} events` },
    ...sync.stations.filter((/** @type {any} */ p) => p.behind !== null || p.ahead !== null).map((/** @type {any} */ p) => ({
      name: stationName(p), common: Math.max(0, ours - (p.behind ?? 0)), theyLack: p.behind ?? 0, weLack: p.ahead ?? 0,
      words: !p.behind && !p.ahead ? "same as here" : [p.behind ? `lacks ${count(p.behind)}` : "", p.ahead ? `has ${count(p.ahead)} we lack` : ""].filter(Boolean).join(", "),
    })),
  ];
  const max = Math.max(...rows.map((r) => r.common + r.theyLack + r.weLack), 1);
  fill(byId("convergence"),
    h("ul", { class: "bars" }, rows.map((r) =>
      h("li", { class: "bar-row" },
        h("span", { class: "bar-name" }, r.name),
        stackedBar([
          { value: r.common, cls: "seg-common", title: `${count(r.common)} held by both` },
          { value: r.theyLack, cls: "seg-they-lack", title: `${count(r.theyLack)} only here` },
          { value: r.weLack, cls: "seg-we-lack", title: `${count(r.weLack)} only there` },
        ], max),
        h("span", { class: "bar-words" }, r.words)))),
    rows.length > 1 ? h("p", { class: "legend" },
      h("span", { class: "key seg-common", "aria-hidden": "true" }), " held by both  ",
      h("span", { class: "key seg-they-lack", "aria-hidden": "true" }), " only here (on its way to them)  ",
      h("span", { class: "key seg-we-lack", "aria-hidden": "true" }), " only there (on its way here)") : null,
  );
}

/**
 * The newest event of each author held here, as bars.
 * @param {any} sync
 */
export function renderAuthors(sync) {
  const authors = [...sync.authors].sort((a, b) => b.seq - a.seq);
  const max = Math.max(...authors.map((a) => a.seq), 1);
  fill(byId("authors"), authors.length === 0 ? empty("No events yet.") : h("ul", { class: "bars" }, authors.map((a) =>
    h("li", { class: "bar-row" },
      h("span", { class: "bar-name", title: a.author }, a.name ?? shortId(a.author), a.self ? " (this site)" : ""),
      stackedBar([{ value: a.seq, cls: a.self ? "seg-self" : "seg-common", title: `${count(a.seq)} events` }], max),
      h("span", { class: "bar-words" }, `${count(a.seq)} events`)))));
}
