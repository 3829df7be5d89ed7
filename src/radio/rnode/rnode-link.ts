/**
 * The Link over a real (or virtual) RNode on a serial port. It brings the
 * device up (detect, firmware check, configure, verify), passes frames both
 * ways, paces its own writes by time on air instead of trusting the
 * firmware's flow control, and when the device goes away or resets it
 * reconnects with back-off and resumes sending what is still queued.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import { rnodeFrameAirtimeMs, RNODE_SINGLE_PAYLOAD } from "../airtime.js";
import type { CancelTimer } from "../clock.js";
import { encodeKissFrame, encodeKissFrames, KissDecoder, type KissFrame } from "../kiss.js";
import type { Link, LinkStatus, ReceivedFrame } from "../link.js";
import { Command, ErrorCode, errorCodeName, LEAVE_BYTE, RADIO_OFF, RESET_BYTE } from "./commands.js";
import { deviceAbsent, invalidSettings, RNodeError, stoppedAnswering } from "./errors.js";
import { configureRNode, DETECT_RESEND_MS, DETECT_TIMEOUT_MS, detectRNode, type DeviceInfo } from "./handshake.js";
import { openRNodePort, type RNodePort } from "./rnode-port.js";
import { checkRNodeSettings, type RadioReadBack } from "./settings.js";
import { describeDevice } from "./device-info.js";
import { reconnectDelay, type RNodeLinkOptions, TX_QUEUE_FRAMES } from "./link-options.js";
import { newLinkCounts, rnodeLinkStatus } from "./link-status.js";
import { createHealthWatch } from "./health-watch.js";
import { checkRadioHealth, describeHealth, HEALTH_CHECK_INTERVAL_MS, HEALTH_REPLY_MS, STATS_SILENCE_MS } from "./radio-health.js";
import { RNodeTelemetry } from "./telemetry.js";
import { TxPacer } from "./tx-pacer.js";

export { probeRNode, type ProbeResult } from "./probe.js";
export { TX_MARGIN_MS, TX_MAX_WAIT_MS } from "./tx-pacer.js";
export { HEALTH_CHECK_INTERVAL_MS, STATS_SILENCE_MS } from "./radio-health.js";
export { RECONNECT_INITIAL_MS, RECONNECT_MAX_MS, type RNodeLinkOptions, TX_QUEUE_FRAMES } from "./link-options.js";


/** Command bytes the driver understands; a frame with any other is noise on the line (or a newer firmware's report) and is counted. */
const KNOWN_COMMANDS: ReadonlySet<number> = new Set(Object.values(Command));

/** Radio off, then "host left": `C0 06 00 C0 0A FF C0`, what Reticulum sends on detach. */
export const GOODBYE: Uint8Array = encodeKissFrames([
  { command: Command.RADIO_STATE, payload: Uint8Array.of(RADIO_OFF) },
  { command: Command.LEAVE, payload: Uint8Array.of(LEAVE_BYTE) },
]);

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
 * again. With `waitForDevice`, a port that is missing at start is not an
 * error: start() resolves with the link down and reconnecting. Once up,
 * losing the device is never thrown: the status says "down" and why, and the
 * link reconnects with back-off. While up, the radio state and settings are
 * read back over serial every minute (and when the channel reports stop): a
 * board that reset without a word, or stopped answering, is brought up
 * again. Frames sent while down or stopped wait in the queue, for at most
 * TX_MAX_WAIT_MS (older ones are dropped, counted as txExpired); `stop()`
 * then `start()` resumes with them. `mtu` is 254, one LoRa packet.
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
  const counts = newLinkCounts();
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
  /** Why the last attempt failed, unless the device was simply away: a retry then stays "down" saying so. */
  let stuck: string | null = null;
  let reconnectTimer: CancelTimer | null = null;
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  let bindingReady: Promise<BindingInterface> | null = null;
  const binding = (): Promise<BindingInterface> => (bindingReady ??= options.binding ? Promise.resolve(options.binding) : defaultBinding());
  const watch = createHealthWatch({
    clock,
    intervalMs: options.healthCheckMs ?? HEALTH_CHECK_INTERVAL_MS,
    silenceMs: options.statsSilenceMs ?? STATS_SILENCE_MS,
    check: checkHealth,
  });

  function setState(next: State, why?: string): void {
    state = next;
    reason = why;
    if (next === "down" && why) log.warn("RNode link down", { reason: why });
  }

  function handleFrame(frame: KissFrame): void {
    if (!KNOWN_COMMANDS.has(frame.command)) counts.unknownCommands++;
    if (frame.command === Command.ERROR) onDeviceError(frame.payload[0]);
    if (frame.command === Command.RESET && frame.payload[0] === RESET_BYTE && reinitialise("the RNode reset itself")) counts.resets++;
    if (frame.command === Command.STAT_CHTM) watch.statsHeard();
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
      stuck = null;
      setState("up");
      log.info("RNode link up", { ...describeDevice(info, got) });
      pacer.resume((frame) => p.write(encodeKissFrame(Command.DATA, frame)));
      watch.arm();
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
    // A slow board can take 15 s to answer: the status must not keep saying the port is missing meanwhile;
    // but a device that is there and failed (hung, wrong) stays down, so the banner keeps saying why.
    if (state === "down" && stuck) reason = `${stuck}; trying again now`;
    else if (state === "down") setState("starting", "the serial port is back; waiting for the RNode to answer");
    return initialise(opened);
  }

  function onPortLost(p: RNodePort, why: string): void {
    if (p !== port || halted || initialising) return; // a handshake in progress reports it itself
    port = null;
    stuck = null;
    retryLater(`the RNode on ${path} went away (${why})`);
  }

  /** Reads back the radio state and settings of the up device; brings it up again when they are gone or it does not answer. */
  async function checkHealth(): Promise<void> {
    const p = port;
    if (state !== "up" || !p || initialising) return;
    counts.healthChecks++;
    const replyMs = HEALTH_REPLY_MS + airtimeMs(RNODE_SINGLE_PAYLOAD);
    const health = await checkRadioHealth(p, clock, settings, replyMs, () => state === "up" && p === port && !initialising);
    if (health.kind === "healthy" || p !== port || state !== "up") return; // gone or re-initialising meanwhile
    if (health.kind === "no-answer") counts.unanswered++;
    if (reinitialise(describeHealth(health)) && health.kind !== "no-answer") {
      counts.resets++;
      counts.silentResets++;
    }
  }

  /** Stops writing frames and checking the device until it is up again. */
  function pause(): void {
    pacer.pause();
    watch.disarm();
  }

  /** Brings an up device up again on its open port; false when it was not up (a handshake already deals with it). */
  function reinitialise(why: string): boolean {
    const p = port;
    if (state !== "up" || !p || initialising) return false;
    pause();
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
    // Silence from a device this link has had up is a hang, not a wrong port.
    const why = err.reason === "not-an-rnode" && device ? stoppedAnswering(path, timing.timeoutMs) : err;
    stuck = deviceAbsent(why) ? null : why.message.replace(/\.$/, "");
    if (!halted) retryLater(why.message);
  }

  function retryLater(why: string): void {
    pause();
    const delay = reconnectDelay(options, attempt, random);
    attempt++;
    setState("down", `${why.replace(/\.$/, "")}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    reconnectTimer = clock.at(clock.now() + delay, () => {
      reconnectTimer = null;
      counts.reconnects++;
      void connect().then((err) => (err ? recover(err) : undefined));
    });
  }

  /** The first connection of a start(); its failures are thrown (but for a missing device with `waitForDevice`), and leave the link halted. */
  async function bringUp(): Promise<void> {
    await stopping;
    const problems = checkRNodeSettings(settings);
    const err = problems.length > 0 ? invalidSettings(path, problems) : await connectFresh();
    if (!err) return;
    if (options.waitForDevice && deviceAbsent(err) && !halted) return recover(err);
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
    pause();
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
      const { counts: kiss } = decoder;
      return rnodeLinkStatus({ path, state, reason, counts, kiss, pacer: pacer.counts, txQueued: pacer.queued, device, readBack, telemetry: telemetry.snapshot() });
    },
  };
}
