// @ts-check
/**
 * Builds the page's elements from data without ever parsing a string as
 * HTML: every value becomes a text node or an attribute value, so text a
 * person typed into a form (a record's answers) can never run as code.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Attributes that load or navigate: the page builds none from data, so none are accepted at all. */
const URL_ATTRIBUTES = new Set(["href", "src", "srcdoc", "action", "formaction", "xlink:href", "style"]);

/** @typedef {Node | string | number | null | undefined | false} Leaf */
/** @typedef {Leaf | ReadonlyArray<Leaf | ReadonlyArray<any>>} Child a node, text, nothing, or a (nested) list of them */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>} Props */

/**
 * @param {Element} el
 * @param {Props} props
 */
function applyProps(el, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      if (!name.startsWith("on")) throw new TypeError(`a function can only be an event handler, not ${name}`);
      el.addEventListener(name.slice(2), value);
    } else if (name.startsWith("on")) {
      throw new TypeError(`event handler ${name} must be a function`);
    } else if (URL_ATTRIBUTES.has(name)) {
      throw new TypeError(`attribute ${name} is not built from data`);
    } else if (name === "class") {
      el.setAttribute("class", String(value));
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/**
 * @param {Node} parent
 * @param {ReadonlyArray<Child>} children
 */
function appendAll(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (c instanceof Node) parent.appendChild(c);
    else if (typeof c === "string" || typeof c === "number") parent.appendChild(document.createTextNode(String(c)));
    else appendAll(parent, c);
  }
}

/**
 * An HTML element with attributes (`on…` functions become listeners) and children (strings become text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/**
 * An SVG element, likewise.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, props = {}, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/**
 * Replaces a container's content in one step (no empty frame in between).
 * @param {Element} container
 * @param {...Child} children
 */
export function fill(container, ...children) {
  const frag = document.createDocumentFragment();
  appendAll(frag, children);
  container.replaceChildren(frag);
}

/**
 * The element with this id; the page's HTML has it, so a missing one is a bug in the page.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}`);
  return el;
}

/**
 * A table with a caption (for screen readers), column headers and rows; a
 * row's first cell is its header when `rowHeader` is set. Each cell carries
 * its column's name, so a phone can show a row as a card of labelled lines.
 * `numeric` columns are right-aligned, `nowrap` ones kept on one line (short values: times, names, ids).
 * @param {{ caption: string, columns: string[], rows: Child[][], numeric?: number[], nowrap?: number[], rowHeader?: boolean, rowClass?: (i: number) => string | undefined }} t
 */
export function table(t) {
  const numeric = new Set(t.numeric ?? []);
  const nowrap = new Set(t.nowrap ?? []);
  const cls = (/** @type {number} */ i) => [numeric.has(i) ? "num" : "", nowrap.has(i) ? "nowrap" : ""].join(" ").trim() || undefined;
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("caption", { class: "visually-hidden" }, t.caption),
      h("thead", {}, h("tr", {}, t.columns.map((c, i) => h("th", { scope: "col", class: cls(i) }, c)))),
      h("tbody", {}, t.rows.map((row, r) =>
        h("tr", { class: t.rowClass?.(r) }, row.map((cell, i) =>
          i === 0 && t.rowHeader
            ? h("th", { scope: "row", class: cls(i), "data-label": t.columns[i] }, cell)
            : h("td", { class: cls(i), "data-label": t.columns[i] }, cell))))),
    ),
  );
}

/**
 * A state shown with a symbol and a word, never by colour alone.
 * @param {"ok" | "warn" | "bad" | "idle"} level
 * @param {string} text
 */
export function badge(level, text) {
  const symbol = { ok: "✔", warn: "▲", bad: "✖", idle: "•" }[level];
  return h("span", { class: `badge badge-${level}` }, h("span", { "aria-hidden": "true" }, symbol), " ", text);
}

/**
 * A quiet line saying a list is empty, and why that is fine or not.
 * @param {string} text
 */
export function empty(text) {
  return h("p", { class: "empty" }, text);
}
