/**
 * The Link over a real (or virtual) RNode on a serial port. It brings the
 * device up (detect, firmware check, configure, verify), passes frames both
 * ways, paces its own writes by time on air instead of trusting the
 * firmware's flow control, and when the device goes away or resets it
 * reconnects with back-off and resumes sending what is still queued.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import { rnodeFrameAirtimeMs, RNODE_SINGLE_PAYLOAD } from "../airtime.js";
import type { CancelTimer, Clock } from "../clock.js";
import { encodeKissFrame, encodeKissFrames, KissDecoder, type KissFrame } from "../kiss.js";
import type { Link, LinkStatus, ReceivedFrame } from "../link.js";
import type { Logger } from "../../log/logger.js";
import { Command, ErrorCode, errorCodeName, LEAVE_BYTE, RADIO_OFF, RESET_BYTE } from "./commands.js";
import { invalidSettings, RNodeError } from "./errors.js";
import { configureRNode, DETECT_RESEND_MS, DETECT_TIMEOUT_MS, detectRNode, type DeviceInfo } from "./handshake.js";
import { openRNodePort, type RNodePort } from "./rnode-port.js";
import { checkRNodeSettings, type RadioReadBack, type RNodeSettings } from "./settings.js";
import { describeDevice } from "./device-info.js";
import { RNodeTelemetry } from "./telemetry.js";
import { TxPacer } from "./tx-pacer.js";

export { probeRNode, type ProbeResult } from "./probe.js";
export { TX_MARGIN_MS, TX_MAX_WAIT_MS } from "./tx-pacer.js";

/** Frames held while the radio is busy or the device is away; beyond this the newest are dropped (and any that wait over TX_MAX_WAIT_MS). */
export const TX_QUEUE_FRAMES = 64;
/** A replugged USB serial device reappears within a second or two. */
export const RECONNECT_INITIAL_MS = 1_000;
/** Keeps retries for a missing device cheap while still noticing it soon after it returns. */
export const RECONNECT_MAX_MS = 30_000;
/** ±20 % so links that lost their devices together do not retry in lockstep. */
const RECONNECT_JITTER = 0.2;

/** Command bytes the driver understands; a frame with any other is noise on the line (or a newer firmware's report) and is counted. */
const KNOWN_COMMANDS: ReadonlySet<number> = new Set(Object.values(Command));

/** Radio off, then "host left": `C0 06 00 C0 0A FF C0`, what Reticulum sends on detach. */
export const GOODBYE: Uint8Array = encodeKissFrames([
  { command: Command.RADIO_STATE, payload: Uint8Array.of(RADIO_OFF) },
  { command: Command.LEAVE, payload: Uint8Array.of(LEAVE_BYTE) },
]);

/** Options of {@link createRNodeLink}. */
export interface RNodeLinkOptions {
  /** Serial port path, e.g. /dev/serial/by-id/usb-…; also the status target. */
  readonly path: string;
  readonly settings: RNodeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  /** serialport binding; the platform's own (bindings-cpp autoDetect) when omitted. */
  readonly binding?: BindingInterface;
  /** Jitter for the reconnect back-off. */
  readonly random?: () => number;
  readonly detectTimeoutMs?: number;
  readonly detectResendMs?: number;
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  readonly txQueueFrames?: number;
  /** Longest a frame may wait for the device before it is dropped (TX_MAX_WAIT_MS). */
  readonly txMaxWaitMs?: number;
}

type State = LinkStatus["state"];

async function defaultBinding(): Promise<BindingInterface> {
  const { autoDetect } = await import("@serialport/bindings-cpp"); // native code loads only when a real port is used
  return autoDetect();
}

/**
 * A Link over an RNode. `start()` resolves once the device is up, or rejects
 * with an RNodeError saying what is wrong (invalid settings before anything
 * is sent, port missing or not permitted, not an RNode, firmware too old,
 * settings refused); after a failed start the link stays down until started
 * again. Once up, losing the device is never thrown: the status says "down"
 * and why, and the link reconnects with back-off. Frames sent while down or
 * stopped wait in the queue, for at most TX_MAX_WAIT_MS (older ones are
 * dropped, counted as txExpired); `stop()` then `start()` resumes with them.
 * `mtu` is 254, one LoRa packet.
 */
export function createRNodeLink(options: RNodeLinkOptions): Link {
  const { path, settings, clock } = options;
  const log = options.logger.child({ component: "rnode", port: path });
  const random = options.random ?? Math.random;
  const timing = { timeoutMs: options.detectTimeoutMs ?? DETECT_TIMEOUT_MS, resendMs: options.detectResendMs ?? DETECT_RESEND_MS };
  const decoder = new KissDecoder({ now: () => clock.now() });
  const telemetry = new RNodeTelemetry();
  const airtimeMs = (bytes: number): number => rnodeFrameAirtimeMs(bytes, settings);
  const pacer = new TxPacer(clock, airtimeMs, options.txQueueFrames ?? TX_QUEUE_FRAMES, options.txMaxWaitMs);
  /** `resets`: the device announced a reset while up (watchdog, brown-out) and was brought up again on the open port. */
  const counts = { framesReceived: 0, bytesReceived: 0, reconnects: 0, resets: 0, unknownCommands: 0 };
  let receiver: (frame: ReceivedFrame) => void = () => {};
  let state: State = "down";
  let reason: string | undefined = "not started yet";
  let port: RNodePort | null = null;
  let device: DeviceInfo | null = null;
  let readBack: RadioReadBack | null = null;
  /** True until start() and from stop() on; `run` tells a stale connect (from before a stop) from a live one. */
  let halted = true;
  let run = 0;
  let initialising = false;
  let attempt = 0;
  let reconnectTimer: CancelTimer | null = null;
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  let bindingReady: Promise<BindingInterface> | null = null;
  const binding = (): Promise<BindingInterface> => (bindingReady ??= options.binding ? Promise.resolve(options.binding) : defaultBinding());

  function setState(next: State, why?: string): void {
    state = next;
    reason = why;
    if (next === "down" && why) log.warn("RNode link down", { reason: why });
  }

  function handleFrame(frame: KissFrame): void {
    if (!KNOWN_COMMANDS.has(frame.command)) counts.unknownCommands++;
    if (frame.command === Command.ERROR) onDeviceError(frame.payload[0]);
    if (frame.command === Command.RESET && frame.payload[0] === RESET_BYTE && reinitialise("the RNode reset itself")) counts.resets++;
    const received = telemetry.take(frame);
    if (!received) return;
    counts.framesReceived++;
    counts.bytesReceived += received.bytes.length;
    receiver(received);
  }

  function onDeviceError(code: number | undefined): void {
    if (code === undefined) return;
    const name = errorCodeName(code);
    if (code === ErrorCode.INITRADIO || code === ErrorCode.TXFAILED || code === ErrorCode.MODEM_TIMEOUT) {
      reinitialise(`the RNode reported ERROR_${name}`);
    } else {
      log.warn("RNode reported an error; the link stays up", { error: name });
    }
  }

  /** Brings the device on `p` up; null when it is up (or the link was stopped meanwhile). */
  async function initialise(p: RNodePort): Promise<RNodeError | null> {
    initialising = true;
    try {
      telemetry.forgetSignal();
      const info = await detectRNode(p, clock, timing);
      if (halted || p !== port) return null;
      if (info instanceof RNodeError) return info;
      device = info;
      const got = await configureRNode(p, clock, settings);
      if (halted || p !== port) return null;
      if (got instanceof RNodeError) return got;
      readBack = got;
      attempt = 0;
      setState("up");
      log.info("RNode link up", { ...describeDevice(info, got) });
      pacer.resume((frame) => p.write(encodeKissFrame(Command.DATA, frame)));
      return null;
    } finally {
      initialising = false;
    }
  }

  /** Opens the port and brings the device up; null when up, or when a stop() made this attempt stale. */
  async function connect(): Promise<RNodeError | null> {
    const mine = run;
    const opened = await openRNodePort({ path, binding: await binding(), clock, decoder });
    const stale = halted || mine !== run;
    if (opened instanceof RNodeError) return stale ? null : opened;
    if (stale) {
      await opened.close();
      return null;
    }
    port = opened;
    opened.onFrame(handleFrame);
    opened.onLost((why) => onPortLost(opened, why));
    // A slow board can take 15 s to answer: the status must not keep saying the port is missing meanwhile.
    if (state === "down") setState("starting", "the serial port is back; waiting for the RNode to answer");
    return initialise(opened);
  }

  function onPortLost(p: RNodePort, why: string): void {
    if (p !== port || halted || initialising) return; // a handshake in progress reports it itself
    port = null;
    retryLater(`the RNode on ${path} went away (${why})`);
  }

  /** Brings an up device up again on its open port; false when it was not up (a handshake already deals with it). */
  function reinitialise(why: string): boolean {
    const p = port;
    if (state !== "up" || !p || initialising) return false;
    pacer.pause();
    setState("down", `${why}; re-initialising`);
    void initialise(p).then((err) => (err ? recover(err) : undefined));
    return true;
  }

  async function dropPort(): Promise<void> {
    const p = port;
    port = null;
    await p?.close();
  }

  async function recover(err: RNodeError): Promise<void> {
    await dropPort();
    if (!halted) retryLater(err.message);
  }

  function retryLater(why: string): void {
    pacer.pause();
    const initial = options.reconnectInitialMs ?? RECONNECT_INITIAL_MS;
    const base = Math.min(options.reconnectMaxMs ?? RECONNECT_MAX_MS, initial * 2 ** attempt);
    const delay = base * (1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random());
    attempt++;
    setState("down", `${why.replace(/\.$/, "")}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    reconnectTimer = clock.at(clock.now() + delay, () => {
      reconnectTimer = null;
      counts.reconnects++;
      void connect().then((err) => (err ? recover(err) : undefined));
    });
  }

  /** The first connection of a start(); its failures are thrown, and leave the link halted. */
  async function bringUp(): Promise<void> {
    await stopping;
    const problems = checkRNodeSettings(settings);
    const err = problems.length > 0 ? invalidSettings(path, problems) : await connectFresh();
    if (!err) return;
    await dropPort();
    halted = true;
    setState("down", err.message);
    throw err;
  }

  async function connectFresh(): Promise<RNodeError | null> {
    halted = false;
    attempt = 0;
    setState("starting");
    return connect();
  }

  async function shutdown(): Promise<void> {
    halted = true;
    run++;
    setState("stopped");
    pacer.pause();
    reconnectTimer?.();
    const p = port;
    port = null;
    await p?.close(GOODBYE);
    log.info("RNode link stopped");
  }

  return {
    mtu: RNODE_SINGLE_PAYLOAD,
    airtimeMs,
    send(frame) {
      if (frame.length === 0 || frame.length > RNODE_SINGLE_PAYLOAD) {
        throw new RangeError(`an RNode frame must be 1..${RNODE_SINGLE_PAYLOAD} bytes, got ${frame.length}`);
      }
      pacer.push(frame);
    },
    onFrame(receive) {
      receiver = receive;
    },
    start() {
      if (!halted && !stopping) return starting ?? Promise.resolve(); // up, or reconnecting by itself
      starting ??= bringUp().finally(() => (starting = null));
      return starting;
    },
    stop() {
      if (state === "stopped" && !stopping) return Promise.resolve();
      stopping ??= shutdown().finally(() => (stopping = null));
      return stopping;
    },
    status() {
      const k = decoder.counts;
      return {
        kind: "rnode",
        target: path,
        state,
        ...(reason !== undefined ? { reason } : {}),
        framesSent: pacer.counts.framesSent,
        framesReceived: counts.framesReceived,
        bytesSent: pacer.counts.bytesSent,
        bytesReceived: counts.bytesReceived,
        dropped: { "kiss-oversize": k.oversize, "kiss-bad-escape": k.badEscapes, "kiss-partial-timeout": k.timedOut, "kiss-unknown-command": counts.unknownCommands },
        details: {
          ...(device ? describeDevice(device, readBack) : {}),
          ...telemetry.snapshot(),
          txQueued: pacer.queued,
          txDropped: pacer.counts.dropped,
          txExpired: pacer.counts.expired,
          reconnects: counts.reconnects,
          resets: counts.resets,
        },
      };
    },
  };
}
