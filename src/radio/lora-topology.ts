/**
 * Who hears whom on the simulated LoRa medium: a table of directed links, each
 * with its loss probability and received signal, layered under cuts and a
 * partition. A packet from A reaches B only if the table (or the default for
 * unlisted pairs) has a link A→B, the link is not cut, and A and B are in the
 * same group while a partition is in force.
 */

/** How one directed link behaves: the same for every packet that crosses it. */
export interface LinkQuality {
  /** Probability (0..1) that one packet copy on this link is lost, drawn independently per copy. */
  readonly loss: number;
  /** Received signal strength at the receiver (dBm). */
  readonly rssi: number;
  /** Signal-to-noise ratio at the receiver (dB). */
  readonly snr: number;
}

/** A clean rural link a few km long: well above SF7 sensitivity (about -123 dBm), positive SNR, no loss. */
export const DEFAULT_LINK_QUALITY: LinkQuality = { loss: 0, rssi: -95, snr: 7 };

export interface DirectedLink {
  readonly from: string;
  readonly to: string;
  readonly quality?: Partial<LinkQuality>;
}

/**
 * A whole topology at once. `unlisted` says whether two stations that no link
 * names hear each other (at the default quality); builders set it to "deaf".
 */
export interface TopologySpec {
  readonly links: readonly DirectedLink[];
  readonly unlisted?: "hear" | "deaf";
}

/** Options for a change to one pair; links are symmetric unless `symmetric: false`. */
export interface PairOptions {
  readonly symmetric?: boolean;
}

/** The topology operations the medium exposes; all take effect for packets that start afterwards. */
export interface TopologyControl {
  /** Replaces every link, cut and partition with `spec`. */
  setTopology(spec: TopologySpec): void;
  /** Sets (or changes part of) the link a→b, and b→a unless one-way. */
  setLink(a: string, b: string, quality?: Partial<LinkQuality>, options?: PairOptions): void;
  /** Silences a→b (and b→a) without forgetting the link's quality. */
  cut(a: string, b: string, options?: PairOptions): void;
  /** Undoes `cut`. */
  restore(a: string, b: string, options?: PairOptions): void;
  /** Only stations in the same group hear each other; stations no group names hear nobody. */
  partition(groups: readonly (readonly string[])[]): void;
  /** Ends the partition. */
  heal(): void;
  /** The quality of the link from→to as things stand, or undefined if `to` does not hear `from`. */
  link(from: string, to: string): LinkQuality | undefined;
}

/** Symmetric links at `quality` between each station and the next: a chain of relays. */
export function lineTopology(ids: readonly string[], quality?: Partial<LinkQuality>): TopologySpec {
  return customTopology(
    ids.slice(1).map((id, i) => [ids[i] as string, id] as const),
    quality,
  );
}

/** Symmetric links between `hub` and each leaf; leaves do not hear each other. */
export function starTopology(hub: string, leaves: readonly string[], quality?: Partial<LinkQuality>): TopologySpec {
  return customTopology(
    leaves.map((leaf) => [hub, leaf] as const),
    quality,
  );
}

/** Every station hears every other one (and no station outside `ids`). */
export function meshTopology(ids: readonly string[], quality?: Partial<LinkQuality>): TopologySpec {
  const pairs = ids.flatMap((a, i) => ids.slice(i + 1).map((b) => [a, b] as const));
  return customTopology(pairs, quality);
}

/**
 * Symmetric links for the pairs given, each at the shared `quality` overridden
 * by its own; pairs not listed do not hear each other.
 */
export function customTopology(
  pairs: readonly (readonly [string, string, Partial<LinkQuality>?])[],
  quality: Partial<LinkQuality> = {},
): TopologySpec {
  const links = pairs.flatMap(([a, b, own]) => {
    const q = { ...quality, ...own };
    return [
      { from: a, to: b, quality: q },
      { from: b, to: a, quality: q },
    ];
  });
  return { links, unlisted: "deaf" };
}

function key(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

function directions(a: string, b: string, options: PairOptions = {}): string[] {
  return options.symmetric === false ? [key(a, b)] : [key(a, b), key(b, a)];
}

/** The mutable topology behind a medium; see TopologyControl for the semantics. */
export function createTopology(defaultQuality: LinkQuality, spec: TopologySpec): TopologyControl {
  let links = new Map<string, LinkQuality>();
  let unlisted: "hear" | "deaf" = "hear";
  let cuts = new Set<string>();
  let groups: Map<string, number> | null = null;

  const control: TopologyControl = {
    setTopology(next) {
      links = new Map();
      cuts = new Set();
      groups = null;
      unlisted = next.unlisted ?? "hear";
      for (const l of next.links) links.set(key(l.from, l.to), { ...defaultQuality, ...l.quality });
    },
    setLink(a, b, quality = {}, options) {
      for (const k of directions(a, b, options)) links.set(k, { ...(links.get(k) ?? defaultQuality), ...quality });
    },
    cut(a, b, options) {
      for (const k of directions(a, b, options)) cuts.add(k);
    },
    restore(a, b, options) {
      for (const k of directions(a, b, options)) cuts.delete(k);
    },
    partition(next) {
      groups = new Map();
      next.forEach((group, i) => group.forEach((id) => groups?.set(id, i)));
    },
    heal() {
      groups = null;
    },
    link(from, to) {
      if (from === to) return undefined;
      const k = key(from, to);
      if (cuts.has(k)) return undefined;
      if (groups !== null) {
        const g = groups.get(from);
        if (g === undefined || g !== groups.get(to)) return undefined;
      }
      return links.get(k) ?? (unlisted === "hear" ? defaultQuality : undefined);
    },
  };
  control.setTopology(spec);
  return control;
}
