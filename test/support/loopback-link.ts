/**
 * A broadcast bus under a virtual clock, for tests of code written against
 * Link and Clock: every frame a link sends reaches every other started link
 * on the bus when its time on air is over. No loss, collisions or half-duplex:
 * only the ordering and timing a protocol needs to run. Not the LoRa medium.
 */
import type { CancelTimer, Clock } from "../../src/radio/clock.js";
import type { Link, LinkStatus, ReceivedFrame } from "../../src/radio/link.js";

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

/** Discrete-event time: `run` jumps from one timer to the next. Ties run in the order they were set. */
export class VirtualClock implements Clock {
  private timers: Timer[] = [];
  private order = 0;
  private current = 0;

  now(): number {
    return this.current;
  }

  at(at: number, run: () => void): CancelTimer {
    let live = true;
    this.timers.push({ at: Math.max(at, this.current), order: this.order++, run: () => live && run() });
    return () => {
      live = false;
    };
  }

  /** Runs timers in order until `stop()` holds after one, none is left, or the next is after `until`. */
  run(until: number, stop: () => boolean = () => false): "stopped" | "idle" | "time" {
    for (;;) {
      const i = this.nextIndex();
      const next = this.timers[i];
      if (!next) return "idle";
      if (next.at > until) {
        this.current = until;
        return "time";
      }
      this.timers.splice(i, 1);
      this.current = next.at;
      next.run();
      if (stop()) return "stopped";
    }
  }

  private nextIndex(): number {
    let best = -1;
    for (const [i, t] of this.timers.entries()) {
      const b = this.timers[best];
      if (!b || t.at < b.at || (t.at === b.at && t.order < b.order)) best = i;
    }
    return best;
  }
}

/** One frame as the bus carried it. */
export interface BusFrame {
  readonly from: string;
  /** Clock time it started. */
  readonly at: number;
  readonly airtimeMs: number;
  readonly bytes: Uint8Array;
}

/** The one mtu and airtime model every link on the bus shares. */
export interface LoopbackBusOptions {
  readonly mtu: number;
  /** Time on air of a frame; default 0.1 ms per byte plus 5 ms. */
  readonly airtimeMs?: (bytes: number) => number;
}

/** A shared channel; `frames` logs everything sent on it. */
export class LoopbackBus {
  readonly frames: BusFrame[] = [];
  private readonly receivers = new Map<string, (frame: ReceivedFrame) => void>();
  private readonly airtime: (bytes: number) => number;

  constructor(
    readonly clock: VirtualClock,
    readonly options: LoopbackBusOptions,
  ) {
    this.airtime = options.airtimeMs ?? ((bytes) => 5 + bytes * 0.1);
  }

  /** A link for station `name`; it hears nothing until started. */
  attach(name: string): Link {
    return new LoopbackLink(this, name, this.options.mtu, this.airtime);
  }

  /** Called by a link: logs the frame and hands a copy to every other live receiver when its airtime is over. */
  carry(from: string, frame: Uint8Array, airtimeMs: number): void {
    const bytes = Uint8Array.from(frame);
    this.frames.push({ from, at: this.clock.now(), airtimeMs, bytes });
    this.clock.at(this.clock.now() + airtimeMs, () => {
      for (const [name, receive] of this.receivers) if (name !== from) receive({ bytes: Uint8Array.from(bytes) });
    });
  }

  listen(name: string, receive: ((frame: ReceivedFrame) => void) | undefined): void {
    if (receive) this.receivers.set(name, receive);
    else this.receivers.delete(name);
  }
}

class LoopbackLink implements Link {
  private receive: ((frame: ReceivedFrame) => void) | undefined;
  private state: LinkStatus["state"] = "starting";
  private sent = { frames: 0, bytes: 0 };
  private received = { frames: 0, bytes: 0 };

  constructor(
    private readonly bus: LoopbackBus,
    private readonly name: string,
    readonly mtu: number,
    readonly airtimeMs: (bytes: number) => number,
  ) {}

  send(frame: Uint8Array): void {
    if (frame.length > this.mtu) throw new RangeError(`a ${frame.length}-byte frame is longer than the loopback link's mtu of ${this.mtu}`);
    // The Link contract lets a down link queue or drop; this one drops.
    if (this.state !== "up") return;
    this.sent = { frames: this.sent.frames + 1, bytes: this.sent.bytes + frame.length };
    this.bus.carry(this.name, frame, this.airtimeMs(frame.length));
  }

  onFrame(receive: (frame: ReceivedFrame) => void): void {
    this.receive = receive;
  }

  start(): Promise<void> {
    this.state = "up";
    this.bus.listen(this.name, (f) => {
      this.received = { frames: this.received.frames + 1, bytes: this.received.bytes + f.bytes.length };
      this.receive?.(f);
    });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.state = "stopped";
    this.bus.listen(this.name, undefined);
    return Promise.resolve();
  }

  status(): LinkStatus {
    return {
      kind: "sim",
      target: this.name,
      state: this.state,
      framesSent: this.sent.frames,
      framesReceived: this.received.frames,
      bytesSent: this.sent.bytes,
      bytesReceived: this.received.bytes,
      dropped: {},
    };
  }
}
