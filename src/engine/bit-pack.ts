/**
 * Bits for typed packing (typed-pack.ts): a writer and a reader, most
 * significant bit first, and the integer codes every field format is built of.
 *
 * A code opens with the bit length L of its number (0 for 0) written as the
 * Elias gamma code of L+1 — k zero bits, then L+1 in k+1 bits — and follows
 * with the L-1 bits of the number below its leading 1:
 *
 *   0 → 1   1 → 010   2 → 0110   3 → 0111   4…7 → 00100xx   8…15 → 00101xxx …
 *
 * Safe integers need L ≤ 53. Two lengths above that are markers: ESCAPE_LENGTH
 * says "this value is not packed: take the next literal", NEGATIVE_LENGTH "the
 * number is minus one minus the count that follows" (rare, so it may cost 11 bits).
 */

/** Bit length that marks an escaped value: no safe integer is this long. */
const ESCAPE_LENGTH = 54;
/** Bit length that marks a negative integer, whose magnitude less one follows. */
const NEGATIVE_LENGTH = 55;
/** Largest bit length of a safe integer. */
const MAX_LENGTH = 53;
/** Zero bits before a gamma code of a length up to NEGATIVE_LENGTH + 1 < 64. */
const MAX_GAMMA_ZEROS = 5;
/** Largest chunk written with 32-bit integer operations. */
const CHUNK_BITS = 24;

/** Appends bits; `bytes()` pads the last byte with zero bits. */
export class BitWriter {
  private readonly out: number[] = [];
  private acc = 0;
  private used = 0;

  /** Writes the low `n` bits of the non-negative integer `value` (n ≤ 53). */
  bits(value: number, n: number): void {
    if (n > CHUNK_BITS) {
      const low = n - CHUNK_BITS;
      this.bits(Math.floor(value / 2 ** low), CHUNK_BITS);
      this.bits(value % 2 ** low, low);
      return;
    }
    for (let i = n - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.used === 8) {
        this.out.push(this.acc);
        this.acc = 0;
        this.used = 0;
      }
    }
  }

  bit(b: boolean): void {
    this.bits(b ? 1 : 0, 1);
  }

  bytes(): Uint8Array {
    const out = Uint8Array.from(this.out);
    if (this.used === 0) return out;
    const last = Uint8Array.of(this.acc << (8 - this.used));
    const all = new Uint8Array(out.length + 1);
    all.set(out);
    all.set(last, out.length);
    return all;
  }
}

/**
 * Reads bits. Reading past the end yields zeros and clears `ok` for good, so a
 * decoder checks `ok` once at the end (and bounds its loops by `left()`).
 */
export class BitReader {
  private pos = 0;
  ok = true;

  constructor(private readonly buf: Uint8Array) {}

  /** Bits not yet read. */
  left(): number {
    return this.buf.length * 8 - this.pos;
  }

  bits(n: number): number {
    if (n > this.left()) {
      this.ok = false;
      this.pos = this.buf.length * 8;
      return 0;
    }
    let v = 0;
    for (let i = 0; i < n; i++, this.pos++) {
      const bit = ((this.buf[this.pos >> 3] as number) >> (7 - (this.pos & 7))) & 1;
      v = v * 2 + bit;
    }
    return v;
  }

  bit(): boolean {
    return this.bits(1) === 1;
  }

  /** True when what is left is the zero padding of the last byte. */
  atPaddedEnd(): boolean {
    const left = this.left();
    return this.ok && left < 8 && this.bits(left) === 0;
  }
}

function bitLength(n: number): number {
  let l = 0;
  for (let x = n; x >= 1; x = Math.floor(x / 2)) l++;
  return l;
}

function writeLength(w: BitWriter, length: number): void {
  const x = length + 1;
  const k = bitLength(x) - 1;
  w.bits(0, k);
  w.bits(x, k + 1);
}

/** What a code read: a number, an escape, or something no writer produces. */
export type CodeRead = number | "escape" | "malformed";

/** Writes a count: a safe integer ≥ 0. */
export function writeCount(w: BitWriter, n: number): void {
  const l = bitLength(n);
  writeLength(w, l);
  if (l >= 2) w.bits(n - 2 ** (l - 1), l - 1);
}

/** Writes the escape marker in place of any code. */
export function writeEscape(w: BitWriter): void {
  writeLength(w, ESCAPE_LENGTH);
}

/** Writes a safe integer; negatives cost the marker's 11 bits more. */
export function writeInt(w: BitWriter, v: number): void {
  if (v >= 0) return writeCount(w, v);
  writeLength(w, NEGATIVE_LENGTH);
  writeCount(w, -v - 1);
}

/** Largest magnitude writeDelta takes: its zigzag form must stay a safe integer. */
export const MAX_DELTA = 2 ** 52 - 1;

/** Writes a signed integer of magnitude ≤ MAX_DELTA as a count of its zigzag form (0, -1, 1, -2 … → 0, 1, 2, 3 …). */
export function writeDelta(w: BitWriter, v: number): void {
  writeCount(w, v >= 0 ? 2 * v : -2 * v - 1);
}

function readLength(r: BitReader): number {
  let k = 0;
  while (k <= MAX_GAMMA_ZEROS && r.ok && !r.bit()) k++;
  if (k > MAX_GAMMA_ZEROS) return -1;
  return 2 ** k + r.bits(k) - 1;
}

function readMagnitude(r: BitReader, l: number): number {
  return l === 0 ? 0 : 2 ** (l - 1) + r.bits(l - 1);
}

/** Reads a count (writeCount) or an escape. */
export function readCount(r: BitReader): CodeRead {
  const l = readLength(r);
  if (l === ESCAPE_LENGTH) return "escape";
  return l < 0 || l > MAX_LENGTH ? "malformed" : readMagnitude(r, l);
}

/** Reads an integer (writeInt) or an escape. */
export function readInt(r: BitReader): CodeRead {
  const l = readLength(r);
  if (l === ESCAPE_LENGTH) return "escape";
  if (l !== NEGATIVE_LENGTH) return l < 0 || l > MAX_LENGTH ? "malformed" : readMagnitude(r, l);
  const m = readCount(r);
  return typeof m === "number" ? -m - 1 : "malformed";
}

/** Reads a signed integer (writeDelta) or an escape. */
export function readDelta(r: BitReader): CodeRead {
  const z = readCount(r);
  if (typeof z !== "number") return z;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bits `value` needs as an unsigned fixed-width field: enough for 0..value. */
export function widthFor(value: number): number {
  return bitLength(value);
}
