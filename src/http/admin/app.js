// @ts-check
/**
 * The admin page's loop: every few seconds it reads the site's API, and
 * rebuilds only the sections whose data changed (so nothing flickers, and
 * scroll, focus, text selection and an open record survive); times keep
 * counting in between. When the site cannot be reached the page says so and
 * keeps showing the last figures, marked as old.
 *
 * `?refresh=N` sets the interval in seconds (1..300; default 5).
 */
import { byId } from "./dom.js";
import { learnSkew } from "./format.js";
import { renderAuthors, renderConvergence, renderPeers, renderRadio } from "./radio-view.js";
import { openRecord, renderRecent, renderRecords } from "./records-view.js";
import { attentionOf, renderAttention, renderConnection, renderHeader, renderOverview } from "./site-view.js";
import { renderConflicts, renderForms, renderOutbox } from "./tables-view.js";
import { updateTimes } from "./time-ago.js";

/** Often enough to see a poll land, light enough for a small box on a slow LAN. */
const DEFAULT_REFRESH_S = 5;
const MIN_REFRESH_S = 1;
const MAX_REFRESH_S = 300;
/** A request that takes longer than this counts as no answer. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Records per page in "All records"; newest changes come from the event log, which has more events than records. */
const RECORDS_PAGE = 20;
const EVENTS_FOR_RECENT = 60;
/** How often the "… ago" texts are brought up to date between refreshes. */
const TIMES_TICK_MS = 1_000;

function refreshSeconds() {
  const asked = Number(new URLSearchParams(location.search).get("refresh"));
  return Number.isFinite(asked) && asked > 0 ? Math.min(MAX_REFRESH_S, Math.max(MIN_REFRESH_S, asked)) : DEFAULT_REFRESH_S;
}

const refreshS = refreshSeconds();
/**
 * @type {{ lastOkAt: number | null, after: string | null, previous: (string | null)[], first: number, shown: Map<string, string>,
 *   timer: number | undefined, running: Promise<void> | null, again: boolean }}
 */
const state = { lastOkAt: null, after: null, previous: [], first: 1, shown: new Map(), timer: undefined, running: null, again: false };

/**
 * @param {string} path relative to the page, so the page also works behind a proxy's sub-path
 * @returns {Promise<{ status: number, body: any }>}
 */
async function get(path) {
  const res = await fetch(path, { headers: { accept: "application/json" }, cache: "no-store", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  learnSkew(res.headers.get("date"));
  const body = await res.json().catch(() => null);
  return { status: res.status, body };
}

/** @param {string} path */
async function getOk(path) {
  const r = await get(path);
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}${r.body?.error ? `: ${r.body.error}` : ""}`);
  return r.body;
}

/** @param {unknown} err */
function reason(err) {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return `No answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  if (err instanceof TypeError) return "No answer from the site (it is stopped, or the network is down)";
  return err instanceof Error ? err.message : String(err);
}

/**
 * Rebuilds a section only when its data changed; puts focus back where it was if the rebuild took it away.
 * @param {string} name
 * @param {unknown} data
 * @param {() => void} render
 */
function section(name, data, render) {
  const key = JSON.stringify(data);
  if (state.shown.get(name) === key) return;
  state.shown.set(name, key);
  const active = document.activeElement;
  const focusKey = active?.getAttribute("data-focus") ?? active?.getAttribute("data-record");
  const home = active?.closest("section[id], div[id]")?.id;
  render();
  if (focusKey && home && active && !active.isConnected) {
    const box = document.getElementById(home);
    const same = box?.querySelector(`[data-focus="${CSS.escape(focusKey)}"]:not(:disabled), [data-record="${CSS.escape(focusKey)}"]`);
    // The last page disables "Next": focus stays in the pager, on the button still usable.
    const again = same ?? box?.querySelector("[data-focus]:not(:disabled)");
    if (again instanceof HTMLElement) again.focus();
  }
}

/** @param {string} id */
const open = (id) => void openRecord(id, get);

function recordsPath() {
  return `api/records?limit=${RECORDS_PAGE}${state.after === null ? "" : `&after=${encodeURIComponent(state.after)}`}`;
}

/** @param {any} page */
function showRecords(page) {
  renderRecords(page, {
    open,
    first: state.first,
    next: page.next === null ? null : () => {
      state.previous.push(state.after);
      state.after = page.next;
      state.first += page.records.length;
      refreshNow();
    },
    previous: state.previous.length === 0 ? null : () => {
      state.after = state.previous.pop() ?? null;
      state.first = Math.max(1, state.first - RECORDS_PAGE);
      refreshNow();
    },
  });
}

async function refreshOnce() {
  const [status, peers, sync, radio, outbox, conflicts, events, records] = await Promise.all([
    getOk("api/status"), getOk("api/peers"), getOk("api/sync"), getOk("api/radio"), getOk("api/outbox?state=failed&limit=20"),
    getOk("api/conflicts?limit=20"), getOk(`api/events?limit=${EVENTS_FOR_RECENT}`), getOk(recordsPath()),
  ]);
  const { uptimeS: _uptime, ...site } = status.site;
  section("header", site, () => renderHeader(status));
  const attention = attentionOf(status);
  section("attention", attention, () => renderAttention(attention));
  section("overview", { ...status, site: null, links: status.links.map((/** @type {any} */ l) => l.state), peers: peers.peers }, () => renderOverview(status, peers.peers));
  section("radio", radio.links.map((/** @type {any} */ l) => ({ ...l, history: l.history.map((/** @type {any} */ b) => b.airtimeMs) })), () => renderRadio(radio));
  section("peers", peers.peers, () => renderPeers(peers.peers));
  section("convergence", sync, () => {
    renderConvergence(sync);
    renderAuthors(sync);
  });
  section("forms", status.forms, () => renderForms(status.forms));
  section("outbox", outbox, () => renderOutbox(outbox, open));
  section("conflicts", conflicts, () => renderConflicts(conflicts, open));
  section("recent", events.events, () => renderRecent(events.events, open));
  section("records", { records, after: state.after }, () => showRecords(records));
}

async function tick() {
  const at = Date.now();
  try {
    await refreshOnce();
    state.lastOkAt = at;
    renderConnection({ ok: true, at, lastOkAt: at, error: null, everySeconds: refreshS });
  } catch (err) {
    renderConnection({ ok: false, at, lastOkAt: state.lastOkAt, error: reason(err), everySeconds: refreshS });
  }
  updateTimes();
}

/** Refreshes now (one refresh at a time: asked during one, it runs again right after), then every interval. */
function refreshNow() {
  window.clearTimeout(state.timer);
  if (state.running) {
    state.again = true;
    return;
  }
  state.running = tick().finally(() => {
    state.running = null;
    if (state.again) {
      state.again = false;
      refreshNow();
    } else {
      state.timer = window.setTimeout(refreshNow, refreshS * 1000);
    }
  });
}

function wire() {
  byId("refresh-now").addEventListener("click", refreshNow);
  const dialog = /** @type {HTMLDialogElement} */ (byId("record-dialog"));
  byId("record-close").addEventListener("click", () => dialog.close());
  byId("record-lookup").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ (byId("record-id"));
    if (input.value.trim()) open(input.value.trim());
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshNow();
  });
  window.setInterval(updateTimes, TIMES_TICK_MS);
  byId("foot-text").prepend(`Refreshes every ${refreshS} s. `);
}

wire();
refreshNow();
