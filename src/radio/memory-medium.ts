/**
 * An in-memory broadcast medium for tests and the demo: every frame a station
 * sends is heard by every other station on its island, each copy independently
 * lost, duplicated or delayed (so copies arrive out of order). It stands in for
 * a shared radio channel without its physics (no airtime, no collisions).
 */
import type { VirtualScheduler } from "./virtual-time.js";

export interface MemoryMediumOptions {
  /** Probability that one copy of a frame is lost. */
  readonly loss: number;
  /** Probability that a delivered copy is delivered twice. */
  readonly duplicate: number;
  /** Delivery delay range (ms); a wide range reorders frames. */
  readonly delayMs: readonly [number, number];
  readonly random: () => number;
}

export interface MediumStats {
  framesSent: number;
  bytesSent: number;
  copiesDelivered: number;
  copiesLost: number;
}

type Receiver = (frame: Uint8Array) => void;

export class MemoryMedium {
  private readonly stations = new Map<string, Receiver>();
  private island = new Map<string, number>();
  readonly stats: MediumStats = { framesSent: 0, bytesSent: 0, copiesDelivered: 0, copiesLost: 0 };

  constructor(
    private readonly scheduler: VirtualScheduler,
    private readonly options: MemoryMediumOptions,
  ) {}

  /** Adds a station; returns its send function. */
  join(id: string, receive: Receiver): (frame: Uint8Array) => void {
    this.stations.set(id, receive);
    return (frame) => this.broadcast(id, frame);
  }

  /** Splits stations into islands that cannot hear each other; stations not named are alone. null joins everyone. */
  setIslands(islands: readonly (readonly string[])[] | null): void {
    this.island = new Map();
    if (islands === null) return;
    islands.forEach((group, i) => group.forEach((id) => this.island.set(id, i)));
  }

  private hears(a: string, b: string): boolean {
    if (this.island.size === 0) return true;
    const ia = this.island.get(a);
    return ia !== undefined && ia === this.island.get(b);
  }

  private broadcast(from: string, frame: Uint8Array): void {
    this.stats.framesSent++;
    this.stats.bytesSent += frame.length;
    const copy = Uint8Array.from(frame);
    const { loss, duplicate, delayMs, random } = this.options;
    for (const [id, receive] of this.stations) {
      if (id === from || !this.hears(from, id)) continue;
      if (random() < loss) {
        this.stats.copiesLost++;
        continue;
      }
      const copies = random() < duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const delay = delayMs[0] + random() * (delayMs[1] - delayMs[0]);
        this.scheduler.at(this.scheduler.now() + delay, () => {
          this.stats.copiesDelivered++;
          receive(copy);
        });
      }
    }
  }
}
