/** Sorted, disjoint, inclusive integer ranges: what remains to send of a feed. */
export type RangeSet = readonly (readonly [number, number])[];

export function rangeSetAdd(set: RangeSet, from: number, to: number): RangeSet {
  const out: [number, number][] = [];
  let lo = from;
  let hi = to;
  for (const [a, b] of set) {
    if (b < lo - 1 || a > hi + 1) out.push([a, b]);
    else {
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  out.push([lo, hi]);
  return out.sort((x, y) => x[0] - y[0]);
}

export function rangeSetRemove(set: RangeSet, from: number, to: number): RangeSet {
  const out: [number, number][] = [];
  for (const [a, b] of set) {
    if (b < from || a > to) out.push([a, b]);
    else {
      if (a < from) out.push([a, from - 1]);
      if (b > to) out.push([to + 1, b]);
    }
  }
  return out;
}

/** How many integers the set covers. */
export function rangeSetSize(set: RangeSet): number {
  let n = 0;
  for (const [a, b] of set) n += b - a + 1;
  return n;
}
