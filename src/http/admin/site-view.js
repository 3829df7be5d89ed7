// @ts-check
/**
 * The top of the page: who this site is, whether the page can reach it, what
 * needs attention (in words, red for what is failing, amber for what is
 * running low), and the overview tiles.
 */
import { airtimeLevel } from "./charts.js";
import { badge, byId, fill, h } from "./dom.js";
import { ago, clockTime, count, percent } from "./format.js";
import { timeSince } from "./time-ago.js";

/** @typedef {{ level: "bad" | "warn", text: string }} Attention */

const SERVER_NAMES = /** @type {Record<string, string>} */ ({ kobo: "KoboToolbox", odk: "ODK Central" });

/**
 * The heading and the line under it: network, sealing, uptime, version.
 * @param {any} status
 */
export function renderHeader(status) {
  const site = status.site;
  document.title = `${site.name} · meshlogd`;
  fill(byId("site-name"), site.name);
  fill(byId("site-meta"),
    h("span", {}, "Network ", h("strong", {}, site.network)), " · ",
    site.sealed ? badge("ok", "Sealed: only the network's sites can read the frames") : badge("warn", "Not sealed: anyone listening can read the frames"), " · ",
    h("span", {}, "Running for ", h("strong", {}, timeSince(site.startedAt))), " · ",
    h("span", { class: "muted" }, `meshlogd ${site.version}, Node ${site.node}`),
  );
}

/**
 * Everything a person should act on: the site's own list, then what the page sees running low.
 * @param {any} status
 * @returns {Attention[]}
 */
export function attentionOf(status) {
  /** @type {Attention[]} */
  const out = status.attention.map((/** @type {string} */ text) => ({ level: "bad", text }));
  for (const l of status.links) {
    if (!(l.dutyCycle < 1) || l.airtime.budgetMs <= 0) continue;
    const { level } = airtimeLevel(l.airtime.usedMs, l.airtime.budgetMs);
    if (level === "ok") continue;
    const used = percent(l.airtime.usedMs, l.airtime.budgetMs);
    // Running out of airtime is the rule working, not a fault: a warning, however close.
    out.push({
      level: "warn",
      text: `Airtime on ${l.target} is ${level === "bad" ? "almost used up" : "running low"}: ${used} of this hour's budget used. The radio sends less until it frees up.`,
    });
  }
  if (status.outbox.failed > 0) {
    out.push({ level: "warn", text: `${count(status.outbox.failed)} record${status.outbox.failed === 1 ? "" : "s"} could not be written to the form server (see "Writing to the form server").` });
  }
  return out;
}

/**
 * The banner: hidden when all is well.
 * @param {Attention[]} items
 */
export function renderAttention(items) {
  const box = byId("attention");
  box.hidden = items.length === 0;
  box.classList.toggle("banner-bad", items.some((i) => i.level === "bad"));
  box.classList.toggle("banner-warn", items.length > 0 && items.every((i) => i.level === "warn"));
  fill(byId("attention-list"), items.map((i) =>
    h("li", { class: `attention-${i.level}` }, h("strong", {}, i.level === "bad" ? "✖ Problem: " : "▲ Warning: "), i.text)));
}

/**
 * @param {string} title
 * @param {import("./dom.js").Child} big
 * @param {...import("./dom.js").Child} lines
 */
function tile(title, big, ...lines) {
  return h("article", { class: "tile" }, h("h3", {}, title), h("div", { class: "tile-big" }, big), lines.map((l) => h("p", {}, l)));
}

/**
 * The server is open, but a poll can still fail (it stopped since, or a form was removed): that shows here too.
 * @param {any} status
 */
function serverTile(status) {
  const server = status.server;
  const name = SERVER_NAMES[server.kind] ?? server.kind;
  const pollFails = status.forms.some((/** @type {any} */ f) => f.lastPollError);
  const state = server.state === "unreachable" ? badge("bad", "Cannot be reached")
    : server.state === "refused" ? badge("bad", "Refuses the credentials")
    : server.state === "mapping" ? badge("bad", "Mappings do not fit")
    : server.state === "starting" ? badge("idle", "Starting")
    : pollFails ? badge("bad", "Polls fail")
    : badge("ok", "Working");
  return tile(`Form server (${name})`, state,
    server.state === "ok" && !pollFails ? h("span", { class: "muted" }, "Working for ", timeSince(server.since)) : null,
    server.error ? h("span", { class: "error-text" }, server.error) : pollFails ? h("span", { class: "error-text" }, "See the forms below.") : null,
    h("span", { class: "url" }, server.url));
}

/**
 * @param {any} status
 * @param {any[]} peers
 */
function radioTile(status, peers) {
  const links = status.links;
  if (links.length === 0) return tile("Radio", badge("idle", "No links configured"), "This site shares data by bundle only.");
  const up = links.filter((/** @type {any} */ l) => l.state === "up").length;
  const state = up === links.length ? badge("ok", links.length === 1 ? "On the air" : `All ${links.length} links up`) : badge("bad", `${links.length - up} of ${links.length} links down`);
  const behind = peers.filter((p) => (p.behind ?? 0) > 0 || (p.ahead ?? 0) > 0).length;
  return tile("Radio", state,
    `${count(peers.length)} station${peers.length === 1 ? "" : "s"} heard`,
    peers.length === 0 ? h("span", { class: "muted" }, "No other site heard yet") : behind === 0 ? "All in step with this site" : `${behind} not yet in step`);
}

/**
 * The overview tiles.
 * @param {any} status
 * @param {any[]} peers
 */
export function renderOverview(status, peers) {
  const o = status.outbox;
  fill(byId("overview"),
    serverTile(status),
    radioTile(status, peers),
    tile("Records", h("span", { class: "figure", "data-figure": "records" }, count(status.store.records)),
      `${count(status.store.events)} changes from ${count(status.store.authors)} site${status.store.authors === 1 ? "" : "s"}`,
      status.store.conflicts > 0 ? `${count(status.store.conflicts)} conflicts settled` : "No conflicts"),
    tile("Writing back", o.failed > 0 ? badge("warn", `${count(o.failed)} failed`) : o.pending > 0 ? badge("idle", `${count(o.pending)} waiting`) : badge("ok", "Up to date"),
      `${count(o.written)} written, ${count(o.pending)} waiting, ${count(o.failed)} failed`),
  );
}

/**
 * The connection line at the top right, and the banner when the site cannot be reached.
 * @param {{ ok: boolean, at: number, lastOkAt: number | null, error: string | null, everySeconds: number }} c
 */
export function renderConnection(c) {
  const conn = byId("conn");
  conn.classList.toggle("conn-bad", !c.ok);
  fill(byId("conn-text"), c.ok ? `Updated ${clockTime(c.at)}` : `Not reachable (tried ${clockTime(c.at)})`);
  document.body.classList.toggle("stale", !c.ok && c.lastOkAt !== null);
  const offline = byId("offline");
  if (c.ok) {
    offline.hidden = true;
    return;
  }
  offline.hidden = false;
  fill(offline,
    h("strong", {}, "✖ Cannot reach the site. "),
    `${c.error ?? "No answer"}. Trying again every ${c.everySeconds} s. `,
    c.lastOkAt === null ? "Nothing received yet." : `The figures below are from ${clockTime(c.lastOkAt)} (${ago(c.lastOkAt)}).`,
  );
}
