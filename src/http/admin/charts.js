// @ts-check
/**
 * The page's pictures, drawn here as inline SVG and plain elements (no chart
 * library, nothing downloaded): the airtime chart of a link, the gauge of
 * the budget left, bars for the convergence of the sites and the signal
 * strength of a station.
 */
import { h, s } from "./dom.js";
import { airtime, duration, percent } from "./format.js";

/** Share of the budget from which the gauge warns, and from which it says the radio will soon wait. */
export const AIRTIME_LOW = 0.7;
export const AIRTIME_EXHAUSTED = 0.9;

/** The chart's drawing box (scaled to the page's width). */
const W = 480;
const PAD = { left: 44, right: 10, top: 16 };
const TOP_H = 104;
const GAP = 26;
const BARS_H = 44;
const AXIS_H = 18;
const H = PAD.top + TOP_H + GAP + BARS_H + AXIS_H;

/** @typedef {{ startMs: number, airtimeMs: number }} Bucket */

/**
 * @param {number} v
 * @param {number} max
 * @param {number} top
 * @param {number} height
 */
const yOf = (v, max, top, height) => top + height - (max > 0 ? (v / max) * height : 0);

/**
 * The cumulative use over the window, against the budget line.
 * @param {number[]} cum cumulative airtime at the end of each bucket
 * @param {{ budgetMs: number, limited: boolean, x: (i: number) => number }} o
 */
function usePanel(cum, o) {
  const last = cum.at(-1) ?? 0;
  const max = o.limited ? Math.max(o.budgetMs * 1.15, last) : Math.max(last * 1.2, 1000);
  const y = (/** @type {number} */ v) => yOf(v, max, PAD.top, TOP_H);
  const base = y(0);
  const points = [`${o.x(0)},${base}`, ...cum.map((v, i) => `${o.x(i + 1)},${y(v)}`)];
  const area = `M${points.join(" L")} L${o.x(cum.length)},${base} Z`;
  const budgetY = y(o.budgetMs);
  return [
    s("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: base, y2: base }),
    s("text", { class: "tick", x: PAD.left - 4, y: base, "text-anchor": "end", "dominant-baseline": "middle" }, "0"),
    s("path", { class: "use-area", d: area }),
    s("path", { class: "use-line", d: `M${points.join(" L")}` }),
    o.limited && [
      s("line", { class: "budget-line", x1: PAD.left, x2: W - PAD.right, y1: budgetY, y2: budgetY }),
      s("text", { class: "tick", x: PAD.left - 4, y: budgetY, "text-anchor": "end", "dominant-baseline": "middle" }, airtime(o.budgetMs)),
      s("text", { class: "budget-label", x: W - PAD.right, y: budgetY - 4, "text-anchor": "end" }, `Budget: ${airtime(o.budgetMs)} an hour`),
    ],
    s("text", { class: "use-label", x: W - PAD.right, y: Math.max(y(last) - 5, budgetY + 16), "text-anchor": "end" }, `Used: ${airtime(last)}`),
    s("text", { class: "panel-label", x: PAD.left + 2, y: PAD.top - 4 }, "Used in the last hour, adding up"),
  ];
}

/**
 * One bar per bucket: the airtime of each minute.
 * @param {Bucket[]} history
 * @param {(i: number) => number} x
 * @param {number} bw bar slot width
 */
function barsPanel(history, x, bw) {
  const top = PAD.top + TOP_H + GAP;
  const max = Math.max(...history.map((b) => b.airtimeMs), 0);
  const base = top + BARS_H;
  return [
    s("text", { class: "panel-label", x: PAD.left + 2, y: top - 5 }, max > 0 ? `Each minute (busiest: ${airtime(max)})` : "Each minute (nothing sent)"),
    s("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: base, y2: base }),
    history.map((b, i) => {
      if (b.airtimeMs <= 0) return null;
      const hgt = Math.max(1.5, (b.airtimeMs / max) * BARS_H);
      return s("rect", { class: "minute-bar", x: x(i) + bw * 0.12, y: base - hgt, width: bw * 0.76, height: hgt },
        s("title", {}, `${airtime(b.airtimeMs)} in the minute from ${new Date(b.startMs).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`));
    }),
  ];
}

/**
 * A link's airtime over the last window: on top the use adding up across the
 * window against the budget line (where the line ends is what the rolling
 * hour has used now), below the airtime of each minute as bars.
 * @param {{ history: Bucket[], budgetMs: number, windowMs: number, usedMs: number, limited: boolean, label: string }} a
 */
export function airtimeChart(a) {
  const n = Math.max(a.history.length, 1);
  const plotW = W - PAD.left - PAD.right;
  const bw = plotW / n;
  const x = (/** @type {number} */ i) => PAD.left + i * bw;
  let sum = 0;
  const cum = a.history.map((b) => (sum += b.airtimeMs));
  const axisY = H - 4;
  const summary = `${a.label}: ${airtime(a.usedMs)} used in the last ${duration(a.windowMs)}${a.limited ? ` of a budget of ${airtime(a.budgetMs)}` : ""}.`;
  return s("svg", { class: "airtime-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary, "data-chart": "airtime" },
    s("title", {}, summary),
    usePanel(cum, { budgetMs: a.budgetMs, limited: a.limited, x }),
    barsPanel(a.history, x, bw),
    s("text", { class: "tick", x: PAD.left, y: axisY }, `${duration(a.windowMs)} ago`),
    s("text", { class: "tick", x: PAD.left + plotW / 2, y: axisY, "text-anchor": "middle" }, `${duration(a.windowMs / 2)} ago`),
    s("text", { class: "tick", x: W - PAD.right, y: axisY, "text-anchor": "end" }, "now"),
  );
}

/**
 * How full the budget is, and what that means.
 * @param {number} used
 * @param {number} budget
 */
export function airtimeLevel(used, budget) {
  const share = budget > 0 ? used / budget : 0;
  if (share >= AIRTIME_EXHAUSTED) return { level: /** @type {const} */ ("bad"), words: "Almost used up: the radio waits until airtime frees up" };
  if (share >= AIRTIME_LOW) return { level: /** @type {const} */ ("warn"), words: "Running low" };
  return { level: /** @type {const} */ ("ok"), words: "Plenty left" };
}

/**
 * The budget of the current window as a bar: used and left, in words too.
 * @param {{ usedMs: number, budgetMs: number, leftMs: number }} a
 */
export function airtimeGauge(a) {
  const { level, words } = airtimeLevel(a.usedMs, a.budgetMs);
  const share = a.budgetMs > 0 ? Math.min(1, a.usedMs / a.budgetMs) : 0;
  const fillEl = h("div", { class: `gauge-fill gauge-${level}` });
  fillEl.style.setProperty("width", `${Math.max(share * 100, a.usedMs > 0 ? 0.8 : 0)}%`);
  const text = `${airtime(a.usedMs)} of ${airtime(a.budgetMs)} used (${percent(a.usedMs, a.budgetMs)}), ${airtime(a.leftMs)} left`;
  return h("div", { class: "gauge-box" },
    h("div", { class: "gauge", role: "meter", "aria-valuemin": 0, "aria-valuemax": Math.round(a.budgetMs), "aria-valuenow": Math.round(a.usedMs), "aria-valuetext": text, "aria-label": "Airtime used in the last hour" }, fillEl),
    h("p", { class: "gauge-text" }, h("strong", {}, text), ` — ${words}.`),
  );
}

/**
 * A horizontal bar made of segments (widths as shares of `max`), each with its own class.
 * @param {{ value: number, cls: string, title: string }[]} parts
 * @param {number} max
 */
export function stackedBar(parts, max) {
  return h("div", { class: "bar-track", "aria-hidden": "true" },
    parts.filter((p) => p.value > 0).map((p) => {
      const seg = h("div", { class: `bar-seg ${p.cls}`, title: p.title });
      seg.style.setProperty("width", `${max > 0 ? Math.max((100 * p.value) / max, 0.6) : 0}%`);
      return seg;
    }),
  );
}

/**
 * Signal quality from the SNR (LoRa decodes down to about −7 dB at SF7 and −20 dB at SF12): bars and a word.
 * @param {number | null} snr
 */
export function signalBars(snr) {
  if (snr === null) return h("span", { class: "muted" }, "not measured");
  const level = snr >= 5 ? 4 : snr >= 0 ? 3 : snr >= -7 ? 2 : 1;
  const word = ["", "very weak", "weak", "good", "strong"][level];
  const icon = s("svg", { class: `signal signal-${level}`, viewBox: "0 0 20 16", width: 20, height: 16, "aria-hidden": "true" },
    [1, 2, 3, 4].map((i) => s("rect", { x: (i - 1) * 5, y: 16 - i * 4, width: 3.5, height: i * 4, class: i <= level ? "on" : "off" })));
  return h("span", { class: "signal-box" }, icon, " ", word);
}
