// @ts-check
/**
 * Records: the newest changes (from the event log), all records a page at a
 * time, and one record opened in a dialog with its answers, its history and
 * its conflicts. Answers are people's text: they only ever become text nodes.
 */
import { badge, byId, empty, fill, h, table } from "./dom.js";
import { answer, clockTime, count, shortId } from "./format.js";
import { timeAgo } from "./time-ago.js";
import { recordButton } from "./tables-view.js";

/** Rows in the recent-changes table. */
export const RECENT_ROWS = 20;
/** Answers shown in a row's summary, in name order like the record's dialog (which shows them all). */
const SUMMARY_ANSWERS = 4;
/** Longest summary in a row, in characters. */
const SUMMARY_CHARS = 160;

/** Form metadata (when and on which phone it was filled, when it reached the server) says little about a record in a one-line summary. */
const METADATA = /^(start|end|today|deviceid|username|simserial|subscriberid|phonenumber|audit|meta\/.*|formhub\/.*|[_@].*)$/;

const CHANGE_WORDS = /** @type {Record<string, string>} */ ({ upsert: "Written", delete: "Deleted", attachment: "File added" });

/** @param {Record<string, unknown> | undefined} fields */
function summary(fields) {
  if (!fields) return "";
  const text = Object.entries(fields).filter(([k]) => !METADATA.test(k)).sort(([a], [b]) => a.localeCompare(b)).slice(0, SUMMARY_ANSWERS).map(([k, v]) => `${k}: ${answer(v)}`).join(" · ");
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text;
}

/**
 * The records changed most recently, newest first, each once.
 * @param {any[]} events the JSON of /api/events, newest first
 * @param {(id: string) => void} open
 */
export function renderRecent(events, open) {
  const seen = new Set();
  const rows = [];
  for (const e of events) {
    if (!e.record || seen.has(e.record) || !(e.kind in CHANGE_WORDS)) continue;
    seen.add(e.record);
    rows.push(e);
    if (rows.length === RECENT_ROWS) break;
  }
  fill(byId("recent"), rows.length === 0 ? empty("No records yet. They appear here once the form server is polled or another site's arrive.") : table({
    caption: "Records changed most recently",
    columns: ["When", "Record", "Type", "Change", "By", "Answers"],
    nowrap: [0, 1, 2, 3, 4],
    rows: rows.map((e) => [
      timeAgo(e.at), recordButton(e.record, open), e.type, CHANGE_WORDS[e.kind] ?? e.kind,
      e.authorName ?? shortId(e.author), h("span", { class: "summary" }, summary(e.fields)),
    ]),
  }));
}

/**
 * One page of all records, with buttons to the next and previous pages.
 * @param {any} page the JSON of /api/records
 * @param {{ open: (id: string) => void, next: (() => void) | null, previous: (() => void) | null, first: number }} nav
 */
export function renderRecords(page, nav) {
  const list = page.records;
  fill(byId("records"),
    list.length === 0 ? empty("No records yet.") : table({
      caption: "All records, in id order",
      columns: ["Record", "Type", "State", "Last change", "By"],
      nowrap: [0, 1, 2, 3, 4],
      rows: list.map((/** @type {any} */ r) => [
        recordButton(r.id, nav.open), r.type, r.alive ? badge("ok", "Current") : badge("idle", "Deleted"),
        timeAgo(r.lastWrite.at), r.lastWrite.authorName ?? shortId(r.lastWrite.author),
      ]),
    }),
    h("div", { class: "pager" },
      h("button", { type: "button", class: "btn", "data-focus": "records-previous", disabled: nav.previous === null, onclick: () => nav.previous?.() }, "‹ Previous"),
      h("span", { class: "muted" }, list.length === 0 ? "" : `Records ${count(nav.first)}–${count(nav.first + list.length - 1)}`),
      h("button", { type: "button", class: "btn", "data-focus": "records-next", disabled: nav.next === null, onclick: () => nav.next?.() }, "Next ›"),
    ),
  );
}

/** @param {any} r */
function recordFacts(r) {
  return h("p", {},
    h("strong", {}, r.type), " · ", r.alive ? badge("ok", "Current") : badge("idle", "Deleted"), " · ",
    "last changed ", timeAgo(r.lastWrite.at), ` (${clockTime(r.lastWrite.at)}) by ${r.lastWrite.authorName ?? shortId(r.lastWrite.author)}`);
}

/** @param {any} d the JSON of /api/records/:id */
function recordBody(d) {
  const r = d.record;
  const answers = Object.entries(r.fields).sort(([a], [b]) => a.localeCompare(b));
  const files = Object.entries(r.attachments);
  return [
    recordFacts(r),
    h("h3", {}, "Answers"),
    answers.length === 0 ? empty("No answers.") : table({ caption: "Answers", columns: ["Question", "Answer"], rowHeader: true, rows: answers.map(([k, v]) => [k, answer(v)]) }),
    files.length === 0 ? null : [
      h("h3", {}, "Files"),
      table({ caption: "Files", columns: ["Question", "Size", "Type"], numeric: [1], rowHeader: true, rows: files.map(([k, a]) => [k, `${count(a.size)} bytes`, a.mime]) }),
    ],
    h("h3", {}, "History"),
    table({
      caption: "Every change to this record, oldest first",
      columns: ["When", "By", "Change", "Answers set"],
      rows: d.history.map((/** @type {any} */ e) => [
        clockTime(e.at), `${e.authorName ?? shortId(e.author)} #${e.seq}`, CHANGE_WORDS[e.kind] ?? e.kind, h("span", { class: "summary" }, e.fields ? Object.keys(e.fields).join(", ") : "—"),
      ]),
    }),
    h("h3", {}, "Conflicts"),
    d.conflicts.length === 0 ? empty("None: no answer of this record was changed at two sites at once.") : table({
      caption: "Values of this record that lost a concurrent change",
      columns: ["When", "Answer", "Value that lost", "Written by"],
      rows: d.conflicts.map((/** @type {any} */ c) => [clockTime(c.at), c.key, answer(c.lostValue), c.authorName ?? shortId(c.author)]),
    }),
  ];
}

/**
 * Opens the record dialog and fills it when the record arrives.
 * @param {string} id
 * @param {(path: string) => Promise<{ status: number, body: any }>} get
 */
export async function openRecord(id, get) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("record-dialog"));
  fill(byId("record-title"), "Record ", h("code", {}, id));
  fill(byId("record-body"), h("p", { class: "muted" }, "Loading…"));
  if (!dialog.open) dialog.showModal();
  try {
    const r = await get(`api/records/${encodeURIComponent(id)}`);
    if (r.status === 404) fill(byId("record-body"), empty("This site has no record with this id. Check the id, or wait until the record arrives."));
    else if (r.status !== 200) fill(byId("record-body"), h("p", { class: "error-text" }, r.body?.error ?? `The site answered ${r.status}.`));
    else fill(byId("record-body"), recordBody(r.body));
  } catch (err) {
    fill(byId("record-body"), h("p", { class: "error-text" }, `Cannot reach the site: ${err instanceof Error ? err.message : String(err)}`));
  }
}
