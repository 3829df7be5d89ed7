/**
 * What an RNode link's status shows: its state and why, the frame counts,
 * the serial line's drops by reason, and in `details` the device, its radio
 * settings and reports, the transmit queue, and how often the device had to
 * be brought up again.
 */
import type { KissDecoderCounts } from "../kiss.js";
import type { LinkStatus } from "../link.js";
import { describeDevice } from "./device-info.js";
import type { DeviceInfo } from "./handshake.js";
import type { RadioReadBack } from "./settings.js";
import type { TelemetrySnapshot } from "./telemetry.js";
import type { PacerCounts } from "./tx-pacer.js";

/** The link's own counters. */
export interface RNodeLinkCounts {
  framesReceived: number;
  bytesReceived: number;
  reconnects: number;
  /** The device reset while up (watchdog, brown-out), announced or found by a health check, and was brought up again on the open port. */
  resets: number;
  /** Of `resets`, those found by a health check (radio off or settings gone) rather than announced. */
  silentResets: number;
  healthChecks: number;
  /** Health checks the device did not answer (each made the link re-handshake). */
  unanswered: number;
  /** Frames with a command byte the driver does not know. */
  unknownCommands: number;
}

/** Fresh counters. */
export function newLinkCounts(): RNodeLinkCounts {
  return { framesReceived: 0, bytesReceived: 0, reconnects: 0, resets: 0, silentResets: 0, healthChecks: 0, unanswered: 0, unknownCommands: 0 };
}

/** Everything the status is read from. */
export interface RNodeLinkReadings {
  readonly path: string;
  readonly state: LinkStatus["state"];
  readonly reason: string | undefined;
  readonly counts: RNodeLinkCounts;
  readonly kiss: KissDecoderCounts;
  readonly pacer: PacerCounts;
  readonly txQueued: number;
  readonly device: DeviceInfo | null;
  readonly readBack: RadioReadBack | null;
  readonly telemetry: TelemetrySnapshot;
}

/** The status of an RNode link from its readings. */
export function rnodeLinkStatus(r: RNodeLinkReadings): LinkStatus {
  const { counts, kiss: k, pacer } = r;
  return {
    kind: "rnode",
    target: r.path,
    state: r.state,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    framesSent: pacer.framesSent,
    framesReceived: counts.framesReceived,
    bytesSent: pacer.bytesSent,
    bytesReceived: counts.bytesReceived,
    dropped: { "kiss-oversize": k.oversize, "kiss-bad-escape": k.badEscapes, "kiss-partial-timeout": k.timedOut, "kiss-unknown-command": counts.unknownCommands },
    details: {
      ...(r.device ? describeDevice(r.device, r.readBack) : {}),
      ...r.telemetry,
      txQueued: r.txQueued,
      txDropped: pacer.dropped,
      txExpired: pacer.expired,
      reconnects: counts.reconnects,
      resets: counts.resets,
      silentResets: counts.silentResets,
      healthChecks: counts.healthChecks,
      unanswered: counts.unanswered,
    },
  };
}
