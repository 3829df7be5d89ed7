// @ts-check
/**
 * Numbers and times in words a field officer reads at a glance: "2 min ago",
 * "3 h 12 min", "1.4 s of airtime". Times are on the site's clock: `serverNow`
 * corrects for a laptop whose clock is off from the site's.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The site's clock minus ours, learnt from each answer's Date header (whole seconds, so kept only when larger). */
let skewMs = 0;

/**
 * Learns how far the site's clock is from this browser's, from an answer's Date header.
 * @param {string | null} dateHeader
 */
export function learnSkew(dateHeader) {
  const t = dateHeader ? Date.parse(dateHeader) : NaN;
  if (Number.isNaN(t)) return;
  const skew = t - Date.now();
  // The header has whole seconds: a difference under two seconds is rounding, not a wrong clock.
  skewMs = Math.abs(skew) < 2 * SECOND ? 0 : skew;
}

/** Now, on the site's clock. */
export function serverNow() {
  return Date.now() + skewMs;
}

/**
 * A length of time: "45 s", "12 min", "3 h 12 min", "2 days 4 h".
 * @param {number} ms
 */
export function duration(ms) {
  const v = Math.max(0, ms);
  if (v < MINUTE) return `${Math.floor(v / SECOND)} s`;
  if (v < HOUR) return `${Math.floor(v / MINUTE)} min`;
  if (v < DAY) {
    const m = Math.floor((v % HOUR) / MINUTE);
    return `${Math.floor(v / HOUR)} h${m ? ` ${m} min` : ""}`;
  }
  const d = Math.floor(v / DAY);
  const hours = Math.floor((v % DAY) / HOUR);
  return `${d} day${d === 1 ? "" : "s"}${hours ? ` ${hours} h` : ""}`;
}

/**
 * How long ago a time was: "just now", "40 s ago", "2 min ago".
 * @param {string | number | null | undefined} when ISO text or epoch ms
 */
export function ago(when) {
  if (when === null || when === undefined) return "never";
  const t = typeof when === "number" ? when : Date.parse(when);
  if (Number.isNaN(t)) return "unknown";
  const d = serverNow() - t;
  if (d < 5 * SECOND) return "just now";
  return `${duration(d)} ago`;
}

/**
 * A local date and time, short: "14:05:09" today, "12 Nov 14:05" otherwise.
 * @param {string | number | null | undefined} when
 */
export function clockTime(when) {
  if (when === null || when === undefined) return "—";
  const d = new Date(when);
  if (Number.isNaN(d.getTime())) return "—";
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : d.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/**
 * Airtime: "340 ms", "1.4 s", "36 s", "2 min 5 s".
 * @param {number} ms
 */
export function airtime(ms) {
  if (ms < SECOND) return `${Math.round(ms)} ms`;
  if (ms < 10 * SECOND) return `${(ms / SECOND).toFixed(1)} s`;
  if (ms < MINUTE) return `${Math.round(ms / SECOND)} s`;
  const s = Math.round((ms % MINUTE) / SECOND);
  return `${Math.floor(ms / MINUTE)} min${s ? ` ${s} s` : ""}`;
}

/**
 * A count with thousands separated.
 * @param {number | null | undefined} n
 */
export function count(n) {
  return n === null || n === undefined ? "—" : n.toLocaleString();
}

/**
 * A size in bytes: "211 B", "3.0 kB", "48 kB", "1.2 MB" (powers of 1000, as in kB).
 * @param {number} n
 */
export function bytes(n) {
  if (n < 1000) return `${count(n)} B`;
  const [value, unit] = n < 1e6 ? [n / 1e3, "kB"] : n < 1e9 ? [n / 1e6, "MB"] : [n / 1e9, "GB"];
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/**
 * A share as a percentage: "0.4 %", "12 %".
 * @param {number} part
 * @param {number} whole
 */
export function percent(part, whole) {
  if (!(whole > 0)) return "—";
  const p = (100 * part) / whole;
  if (p === 0 || p >= 10) return `${Math.round(p)} %`;
  return `${p >= 1 ? p.toFixed(1) : Number(p.toPrecision(2))} %`;
}

/**
 * An answer's value as text: lists joined, files by size, nothing as a dash.
 * @param {unknown} v
 * @returns {string}
 */
export function answer(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(answer).join(", ");
  if (typeof v === "object" && "$bytes" in v && typeof v.$bytes === "string") return `(${Math.floor((v.$bytes.length * 3) / 4)} bytes)`;
  return JSON.stringify(v);
}

/**
 * A long id shortened for a table, the whole one kept for the tooltip: "uuid:3f2a…9c1d".
 * @param {string} id
 */
export function shortId(id) {
  return id.length <= 20 ? id : `${id.slice(0, 13)}…${id.slice(-4)}`;
}
