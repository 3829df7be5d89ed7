// @ts-check
/**
 * Times that keep counting ("2 min ago", "running for 3 h") between data
 * refreshes: their text is updated in place, so a section is rebuilt only
 * when its data changed and a reader's selection or focus in it survives.
 */
import { h } from "./dom.js";
import { ago, clockTime, duration, serverNow } from "./format.js";

/**
 * @param {string | number | null | undefined} when
 * @returns {number | null}
 */
function toMs(when) {
  if (when === null || when === undefined) return null;
  const t = typeof when === "number" ? when : Date.parse(when);
  return Number.isNaN(t) ? null : t;
}

/**
 * "2 min ago", kept current; the exact time in the tooltip.
 * @param {string | number | null | undefined} when ISO text or epoch ms
 */
export function timeAgo(when) {
  const t = toMs(when);
  if (t === null) return h("span", {}, ago(when));
  return h("time", { datetime: new Date(t).toISOString(), title: clockTime(t), "data-ago": t }, ago(t));
}

/**
 * "3 h 12 min" since a moment, kept current.
 * @param {string | number} since ISO text or epoch ms
 */
export function timeSince(since) {
  const t = toMs(since) ?? serverNow();
  return h("time", { datetime: new Date(t).toISOString(), title: `since ${clockTime(t)}`, "data-since": t }, duration(serverNow() - t));
}

/** Brings every counting time on the page up to now (only the text that changed is touched). */
export function updateTimes() {
  for (const el of document.querySelectorAll("[data-ago]")) {
    const text = ago(Number(el.getAttribute("data-ago")));
    if (el.textContent !== text) el.textContent = text;
  }
  for (const el of document.querySelectorAll("[data-since]")) {
    const text = duration(serverNow() - Number(el.getAttribute("data-since")));
    if (el.textContent !== text) el.textContent = text;
  }
}
