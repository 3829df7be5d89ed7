/**
 * Text answers in fewer bits (the "text" format of typed-pack.ts). Names and
 * remarks are mostly letters, phone numbers and times mostly digits, so a text
 * goes in the cheapest of four modes, after a mode code:
 *
 *   00  letters, lower case by default       5 bits a symbol
 *   01  letters, a word's first letter upper  5 bits a symbol
 *   10  digits                                 4 bits a symbol
 *   110 UTF-8                                  8 bits a byte
 *   111 escape (not a string: see the literal list)
 *
 * then the number of symbols (or bytes) as a count, then the symbols. Letter
 * symbols are LETTERS (a–z, space, . , ' -) and SHIFT, which gives the next
 * letter the other case than its default; digit symbols are DIGITS.
 */
import { BitReader, BitWriter, readCount, writeCount } from "./bit-pack.js";

const LETTERS = "abcdefghijklmnopqrstuvwxyz .,'-";
/** The 32nd letter symbol: the next letter takes the case its mode does not give it. */
const SHIFT = LETTERS.length;
const LETTER_BITS = 5;
const DIGITS = "0123456789 +-.:/";
const DIGIT_BITS = 4;
const BYTE_BITS = 8;

const MODE = { lower: 0b00, title: 0b01, digits: 0b10, utf8: 0b110, escape: 0b111 } as const;

const letterCode = new Map([...LETTERS].map((c, i) => [c, i]));
const digitCode = new Map([...DIGITS].map((c, i) => [c, i]));
const isLetter = (c: string): boolean => c >= "a" && c <= "z";

/** Whether the letter at i is upper case by default in title mode: it opens a word. */
const opensWord = (s: string, i: number): boolean => i === 0 || s[i - 1] === " ";

/** Letter symbols of `s` in a mode, or undefined if it has a character outside LETTERS. */
function letterSymbols(s: string, title: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    const lower = c.toLowerCase();
    const code = letterCode.get(lower);
    const upper = c !== lower;
    // Only ASCII letters have a case here (the Kelvin sign lowers to "k" but is not "K").
    if (code === undefined || (upper && c !== lower.toUpperCase())) return undefined;
    if (isLetter(lower) && upper !== (title && opensWord(s, i))) out.push(SHIFT);
    out.push(code);
  }
  return out;
}

function digitSymbols(s: string): number[] | undefined {
  const out: number[] = [];
  for (const c of s) {
    const code = digitCode.get(c);
    if (code === undefined) return undefined;
    out.push(code);
  }
  return out;
}

interface Plan {
  readonly mode: number;
  readonly modeBits: number;
  readonly symbols: ArrayLike<number>;
  readonly symbolBits: number;
}

const cost = (p: Plan): number => p.modeBits + p.symbols.length * p.symbolBits;

function plans(s: string): Plan[] {
  const out: Plan[] = [];
  const lower = letterSymbols(s, false);
  if (lower) out.push({ mode: MODE.lower, modeBits: 2, symbols: lower, symbolBits: LETTER_BITS });
  const title = letterSymbols(s, true);
  if (title) out.push({ mode: MODE.title, modeBits: 2, symbols: title, symbolBits: LETTER_BITS });
  const digits = digitSymbols(s);
  if (digits) out.push({ mode: MODE.digits, modeBits: 2, symbols: digits, symbolBits: DIGIT_BITS });
  const utf8 = Buffer.from(s, "utf8");
  // A lone surrogate has no UTF-8 form: such a string travels as a literal.
  if (utf8.toString("utf8") === s) out.push({ mode: MODE.utf8, modeBits: 3, symbols: utf8, symbolBits: BYTE_BITS });
  return out;
}

/** Writes a text answer, or the escape code when `v` is not a string it can write; returns whether it wrote the value. */
export function writeText(w: BitWriter, v: unknown): boolean {
  const options = typeof v === "string" ? plans(v) : [];
  const best = options.reduce<Plan | undefined>((a, p) => (a === undefined || cost(p) < cost(a) ? p : a), undefined);
  if (!best) {
    w.bits(MODE.escape, 3);
    return false;
  }
  w.bits(best.mode, best.modeBits);
  writeCount(w, best.symbols.length);
  for (let i = 0; i < best.symbols.length; i++) w.bits(best.symbols[i] as number, best.symbolBits);
  return true;
}

function readLetters(r: BitReader, n: number, title: boolean): string | undefined {
  let s = "";
  let shift = false;
  for (let i = 0; i < n; i++) {
    const code = r.bits(LETTER_BITS);
    if (code === SHIFT) {
      if (shift) return undefined;
      shift = true;
      continue;
    }
    const c = LETTERS[code] as string;
    if (shift && !isLetter(c)) return undefined;
    const upper = isLetter(c) && shift !== (title && opensWord(s, s.length));
    s += upper ? c.toUpperCase() : c;
    shift = false;
  }
  return shift ? undefined : s;
}

/** Reads a text answer: the string, "escape", or undefined when malformed. */
export function readText(r: BitReader): string | "escape" | undefined {
  let mode = r.bits(2);
  if (mode === 0b11) mode = 0b110 | r.bits(1);
  if (mode === MODE.escape) return "escape";
  const n = readCount(r);
  const bitsEach = mode === MODE.utf8 ? BYTE_BITS : mode === MODE.digits ? DIGIT_BITS : LETTER_BITS;
  if (typeof n !== "number" || n * bitsEach > r.left()) return undefined;
  if (mode === MODE.lower || mode === MODE.title) return readLetters(r, n, mode === MODE.title);
  if (mode === MODE.digits) {
    let s = "";
    for (let i = 0; i < n; i++) s += DIGITS[r.bits(DIGIT_BITS)];
    return s;
  }
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = r.bits(BYTE_BITS);
  const s = bytes.toString("utf8");
  return Buffer.from(s, "utf8").equals(bytes) ? s : undefined;
}
