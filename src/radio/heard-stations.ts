/**
 * The stations a station hears: last heard, RSSI and SNR of their last
 * frame, and how far behind or ahead of us they are, for the status API.
 */
import type { AuthorId } from "../engine/ids.js";
import { frontierTotal, type Frontier } from "../engine/frontier.js";
import type { SyncMessage } from "../engine/sync/messages.js";
import { OFFSET, STATION_ID_BYTES } from "./air/constants.js";
import type { Clock } from "./clock.js";
import type { ReceivedFrame } from "./link.js";

/** What the station knows of another station it hears. */
export interface HeardStation {
  /** The sender's station id (its author short tag), hex. */
  readonly station: string;
  /** The member's name, when the station id is a configured member's. */
  readonly name?: string;
  lastHeardAt: number;
  rssi?: number;
  snr?: number;
  frames: number;
  /** Events we hold that it lacks, from its last beacon (estimate) or complete frontier (exact). */
  behind?: number;
  /** Events it holds that we lack, likewise. */
  ahead?: number;
}

export interface HeardStationsOptions {
  readonly clock: Pick<Clock, "now">;
  /** The store's frontier, for the lag of the stations heard. */
  readonly frontier: () => Frontier;
  /** A member's author id from its short tag, for naming stations heard. */
  readonly authorByShort?: (short: Uint8Array) => AuthorId | undefined;
  readonly names?: (author: AuthorId) => string | undefined;
}

export interface HeardStations {
  /** Notes a frame heard from its sender (a whole message or a nack: a fragment may be re-sent by another station). */
  from(frame: ReceivedFrame): HeardStation;
  /** Learns the sender's lag from its beacon or complete frontier. */
  learn(h: HeardStation, m: SyncMessage): void;
  /** Copies of what is known, for the status API. */
  list(): HeardStation[];
}

/**
 * Stations remembered at most: far more than a network's members, and a bound
 * on what forged sender ids (anyone's on an unsealed network) can make us keep.
 * When full, the station heard least recently that is not a member goes first,
 * then the least recently heard of all.
 */
export const MAX_HEARD_STATIONS = 64;

export function createHeardStations(o: HeardStationsOptions): HeardStations {
  /** In the order last heard, oldest first (an entry is moved to the end each time it is heard). */
  const heard = new Map<string, HeardStation>();

  function evictOne(): void {
    let victim: string | undefined;
    for (const [key, h] of heard) {
      if (h.name === undefined) {
        victim = key;
        break;
      }
    }
    heard.delete(victim ?? (heard.keys().next().value as string));
  }

  function from(frame: ReceivedFrame): HeardStation {
    const id = Buffer.from(frame.bytes.subarray(OFFSET.sender, OFFSET.sender + STATION_ID_BYTES));
    const key = id.toString("hex");
    let h = heard.get(key);
    if (h) {
      heard.delete(key);
    } else {
      if (heard.size >= MAX_HEARD_STATIONS) evictOne();
      const author = o.authorByShort?.(id);
      const name = author ? o.names?.(author) : undefined;
      h = { station: key, ...(name ? { name } : {}), lastHeardAt: 0, frames: 0 };
    }
    heard.set(key, h);
    h.lastHeardAt = o.clock.now();
    h.frames++;
    if (frame.rssi !== undefined) h.rssi = frame.rssi;
    if (frame.snr !== undefined) h.snr = frame.snr;
    return h;
  }

  /** Beacons carry the sender's event total; a complete frontier says exactly who lacks what. */
  function learn(h: HeardStation, m: SyncMessage): void {
    const mine = o.frontier();
    if (m.type === "beacon") {
      const ours = frontierTotal(mine);
      h.behind = Math.max(0, ours - m.total);
      h.ahead = Math.max(0, m.total - ours);
    } else if (m.type === "frontier" && m.pages === 1) {
      let behind = 0;
      let ahead = 0;
      const listed = new Map<string, number>(m.entries.map((e) => [Buffer.from(e.short).toString("hex"), e.seq]));
      for (const [author, seq] of mine) {
        const theirs = listed.get(author.slice(0, STATION_ID_BYTES * 2)) ?? 0;
        behind += Math.max(0, seq - theirs);
        ahead += Math.max(0, theirs - seq);
        listed.delete(author.slice(0, STATION_ID_BYTES * 2));
      }
      for (const seq of listed.values()) ahead += seq;
      h.behind = behind;
      h.ahead = ahead;
    }
  }

  return { from, learn, list: () => [...heard.values()].map((h) => ({ ...h })) };
}
