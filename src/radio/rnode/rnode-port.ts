/**
 * One open serial connection to an RNode: bytes out, decoded KISS frames in,
 * and a way to wait for particular replies against the injected clock. It
 * hides serialport's stream events (open, data, close, error) behind a small
 * surface, and reports an unexpected close (unplug, USB reset) exactly once.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import { SerialPortStream } from "@serialport/stream";
import type { CancelTimer, Clock } from "../clock.js";
import { KissDecoder, type KissFrame } from "../kiss.js";
import { openFailure, RNodeError } from "./errors.js";

/** The RNode firmware's serial speed (Config.h); 8N1, no flow control of any kind. */
export const RNODE_BAUD_RATE = 115200;

/** How to reach the port. */
export interface RNodePortOptions {
  readonly path: string;
  readonly binding: BindingInterface;
  readonly clock: Clock;
  /** Decoder to use (a link keeps one across reconnects to keep its counts); a new one by default. */
  readonly decoder?: KissDecoder;
}

/** An open connection. After an unexpected close it stays closed: open a new one. */
export interface RNodePort {
  readonly path: string;
  /** False once closed, by us or by the device going away. */
  readonly isOpen: boolean;
  write(bytes: Uint8Array): void;
  /**
   * Shows every frame that arrives to `consume` until it returns true
   * (resolves true), the clock reaches `deadline`, or the port closes (false).
   * Frames also reach the `onFrame` handler.
   */
  waitFor(consume: (frame: KissFrame) => boolean, deadline: number): Promise<boolean>;
  /** Sets the handler of every incoming frame. */
  onFrame(handler: (frame: KissFrame) => void): void;
  /** Sets the handler called once if the port closes without `close()` (unplug, I/O error). */
  onLost(handler: (reason: string) => void): void;
  /** Writes `last` (if any), waits for every write to reach the port, then closes; idempotent. */
  close(last?: Uint8Array): Promise<void>;
}

interface Waiter {
  consume: (frame: KissFrame) => boolean;
  done: (matched: boolean) => void;
}

function openStream(options: RNodePortOptions): Promise<SerialPortStream | RNodeError> {
  const stream = new SerialPortStream({
    binding: options.binding,
    path: options.path,
    baudRate: RNODE_BAUD_RATE,
    dataBits: 8,
    stopBits: 1,
    parity: "none",
    rtscts: false,
    xon: false,
    xoff: false,
    xany: false,
    autoOpen: false,
  });
  return new Promise((resolve) => {
    stream.open((err) => resolve(err ? openFailure(options.path, err) : stream));
  });
}

/** Opens the port at 115200 8N1; an open failure comes back as an RNodeError value. */
export async function openRNodePort(options: RNodePortOptions): Promise<RNodePort | RNodeError> {
  const stream = await openStream(options);
  if (stream instanceof RNodeError) return stream;
  return wrapStream(stream, options);
}

function wrapStream(stream: SerialPortStream, options: RNodePortOptions): RNodePort {
  const { clock, path } = options;
  const decoder = options.decoder ?? new KissDecoder({ now: () => clock.now() });
  decoder.reset();
  const waiters = new Set<Waiter>();
  let frameHandler: (frame: KissFrame) => void = () => {};
  let lostHandler: (reason: string) => void = () => {};
  let open = true;
  let closing: Promise<void> | null = null;
  let lastWrite: Promise<void> = Promise.resolve();
  let signalEnded: () => void = () => {};
  const endedSignal = new Promise<void>((resolve) => (signalEnded = resolve));

  function ended(reason: string | null): void {
    if (!open) return;
    open = false;
    signalEnded();
    for (const w of [...waiters]) w.done(false);
    if (reason !== null) lostHandler(reason);
  }

  stream.on("data", (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      for (const w of [...waiters]) if (w.consume(frame)) w.done(true);
      frameHandler(frame);
    }
  });
  stream.on("close", (err: Error | null) => ended(closing ? null : (err?.message ?? "the port closed")));
  stream.on("error", (err: Error) => {
    if (closing) return;
    ended(err.message);
    if (stream.isOpen) stream.close(() => {}); // release the port so a reconnect can open it
  });

  function write(bytes: Uint8Array): void {
    if (!open || closing) return;
    lastWrite = new Promise((resolve) => stream.write(Buffer.from(bytes), () => resolve()));
  }

  return {
    path,
    get isOpen() {
      return open;
    },
    write,
    waitFor(consume, deadline) {
      if (!open) return Promise.resolve(false);
      return new Promise((resolve) => {
        let cancel: CancelTimer = () => {};
        const waiter: Waiter = {
          consume,
          done: (matched) => {
            if (!waiters.delete(waiter)) return;
            cancel();
            resolve(matched);
          },
        };
        waiters.add(waiter);
        cancel = clock.at(deadline, () => waiter.done(false));
      });
    },
    onFrame(handler) {
      frameHandler = handler;
    },
    onLost(handler) {
      lostHandler = handler;
    },
    close(last) {
      if (last) write(last);
      closing ??= (async () => {
        await Promise.race([lastWrite, endedSignal]); // a write stuck behind a lost port never completes
        if (stream.isOpen) await new Promise<void>((resolve) => stream.close(() => resolve()));
        ended(null);
      })();
      return closing;
    },
  };
}
