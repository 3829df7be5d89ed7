// @ts-check
/**
 * The bridge side as tables: the forms with their record counts and last
 * poll, the write-back outbox with the reasons writes failed, and the
 * conflict log.
 */
import { badge, byId, empty, fill, h, table } from "./dom.js";
import { answer, count, shortId } from "./format.js";
import { timeAgo } from "./time-ago.js";

/** @typedef {(id: string) => void} OpenRecord */

/**
 * A record id as a button that opens the record.
 * @param {string} id
 * @param {OpenRecord} open
 */
export function recordButton(id, open) {
  return h("button", { type: "button", class: "link-button", title: `Open record ${id}`, "data-record": id, onclick: () => open(id) }, shortId(id));
}

/** @param {any} f */
function formState(f) {
  if (f.lastPollError) return h("span", {}, badge("bad", "Polling fails"), h("br"), h("span", { class: "error-text" }, f.lastPollError));
  if (f.lastWriteError) return h("span", {}, badge("bad", "Writing fails"), h("br"), h("span", { class: "error-text" }, f.lastWriteError));
  if (!f.lastPollAt) return badge("idle", "Not polled yet");
  return badge("ok", "Working");
}

/**
 * The forms this site maps, with their records.
 * @param {any[]} forms status.forms
 */
export function renderForms(forms) {
  fill(byId("forms"), forms.length === 0 ? empty("No form is mapped.") : table({
    caption: "Forms and their records",
    columns: ["Record type", "Form", "Records", "Deleted", "Last poll", "State"],
    numeric: [2, 3],
    rowHeader: true,
    rows: forms.map((f) => [
      f.type,
      f.describe,
      h("span", { "data-count": f.type }, count(f.records?.alive ?? 0)),
      count(f.records?.deleted ?? 0),
      timeAgo(f.lastPollAt),
      formState(f),
    ]),
  }));
}

/**
 * @param {string} label
 * @param {number} n
 * @param {"ok" | "warn" | "bad" | "idle"} level
 */
function countTile(label, n, level) {
  return h("div", { class: `count count-${n > 0 ? level : "idle"}` }, h("span", { class: "count-n" }, count(n)), h("span", { class: "count-label" }, label));
}

/**
 * Outbox counts, and the failed entries with their reasons.
 * @param {any} outbox the JSON of /api/outbox?state=failed
 * @param {OpenRecord} open
 */
export function renderOutbox(outbox, open) {
  const c = outbox.counts;
  const failed = outbox.entries;
  fill(byId("outbox"),
    h("div", { class: "counts" }, countTile("waiting", c.pending, "idle"), countTile("written", c.written, "ok"), countTile("failed", c.failed, "bad")),
    failed.length === 0 ? empty("No failed writes.") : [
      h("h3", {}, "Failed writes"),
      table({
        caption: "Writes to the form server that failed",
        columns: ["Record", "Tries", "Why it failed"],
        numeric: [1],
        rows: failed.map((/** @type {any} */ e) => [
          h("span", {}, recordButton(e.record, open), h("br"), h("span", { class: "muted small" }, e.source)),
          count(e.attempts),
          h("span", { class: "reason" }, h("span", { class: "error-text" }, e.lastError ?? "—"), h("br"), h("span", { class: "muted small" }, "last tried ", timeAgo(e.updatedAt))),
        ]),
      }),
      failed.length < c.failed ? h("p", { class: "muted" }, `Showing ${failed.length} of ${count(c.failed)}.`) : null,
    ],
  );
}

/**
 * The conflict log, newest first.
 * @param {any} conflicts the JSON of /api/conflicts
 * @param {OpenRecord} open
 */
export function renderConflicts(conflicts, open) {
  const list = conflicts.conflicts;
  fill(byId("conflicts"), list.length === 0 ? empty("No conflicts: no two sites changed the same answer at once.") : [
    h("p", {}, `${count(conflicts.total)} conflict${conflicts.total === 1 ? "" : "s"} settled${list.length < conflicts.total ? `, the newest ${list.length} shown` : ""}.`),
    table({
      caption: "Values that lost a concurrent change",
      columns: ["When", "Record", "Answer", "Value that lost", "Written by"],
      nowrap: [0, 1, 4],
      rows: list.map((/** @type {any} */ x) => [
        timeAgo(x.at), recordButton(x.record, open), x.key, answer(x.lostValue), x.authorName ?? shortId(x.author),
      ]),
    }),
  ]);
}
