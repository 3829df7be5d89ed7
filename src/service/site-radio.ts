/**
 * One configured link of a site as a radio station: the link (an RNode on a
 * serial port, UDP on a LAN, or whatever a test or the embedded demo hands
 * in), the air framing with the network's key, the duty-cycle budget of the
 * link's region, and the sync node over the site's store.
 *
 * A received frame whose events the store cannot take (disk full, read-only
 * file system) is a lost frame: the sync protocol asks for its events again,
 * and the site is told so that its status says why.
 */
import type { Signer } from "../engine/crypto.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import { storageFailureOf, type StorageFailure } from "../engine/store/storage-failure.js";
import type { SyncNode } from "../engine/sync/sync-node.js";
import type { WantsBlob } from "../engine/sync/blob-transfer.js";
import type { Logger } from "../log/logger.js";
import type { AirCodec } from "../radio/air/codec.js";
import { networkIdFromName } from "../radio/air/network-key.js";
import type { Clock } from "../radio/clock.js";
import { DUTY_CYCLE_PRESETS, NO_DUTY_CYCLE, type DutyCycle } from "../radio/duty-cycle.js";
import type { Link } from "../radio/link.js";
import { createRNodeLink } from "../radio/rnode/rnode-link.js";
import type { RNodeSettings } from "../radio/rnode/settings.js";
import { createRadioStack } from "../radio/radio-stack.js";
import type { Station } from "../radio/station.js";
import { createUdpLink, type UdpEndpoint } from "../radio/udp-link.js";
import type { LinkConfig, RNodeLinkConfig } from "./site-config.js";

/** A station of the site, with what the status API shows of it. */
export interface SiteRadio {
  readonly index: number;
  readonly config: LinkConfig;
  readonly link: Link;
  readonly codec: AirCodec;
  readonly node: SyncNode;
  readonly dutyCycle: DutyCycle;
  readonly station: Station;
  /** The regulatory rule applied, for display. */
  readonly region: string;
  /** The station's time line: its heard times and airtime buckets are on it, not on the wall clock. */
  readonly clock: Clock;
}

/** Builds a link from its config; tests and the embedded demo pass their own. */
export type LinkFactory = (config: LinkConfig, index: number) => Link;

export interface SiteRadioOptions {
  readonly index: number;
  readonly config: LinkConfig;
  readonly store: SqliteStore;
  readonly signer: Signer;
  readonly networkName: string;
  readonly networkKey: Uint8Array | null;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly link: Link;
  readonly priorityOf: (type: string) => number;
  /** Which attachments' bytes this site fetches by radio (its mappings' attachment policies). */
  readonly wantsBlob?: WantsBlob;
  readonly onIngest: (applied: number) => void;
  /** A received frame could not be stored: the frame is dropped (its events are asked for again). */
  readonly onStorageFailure?: (failure: StorageFailure) => void;
}

export function rnodeSettingsOf(c: RNodeLinkConfig): RNodeSettings {
  return { frequency: c.frequency, bandwidth: c.bandwidth, sf: c.spreading_factor, cr: c.coding_rate, txPower: c.tx_power };
}

function parseEndpoint(text: string): UdpEndpoint {
  const i = text.lastIndexOf(":");
  return { address: text.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(text.slice(i + 1)) };
}

/**
 * The real links: an RNode on its serial port, or UDP. An RNode that is not
 * plugged in when the site starts does not stop the site (a service manager
 * would restart it in a loop, with the admin page down meanwhile): its link
 * starts down, the banner says to plug it in, and it comes up once it is.
 * Anything plugging in cannot mend (a setting out of range, no permission,
 * not an RNode, old firmware) still stops start-up with the reason.
 */
export function defaultLinkFactory(clock: Clock, log: Logger): LinkFactory {
  return (config) => {
    if (config.kind === "rnode") {
      return createRNodeLink({ path: config.port, settings: rnodeSettingsOf(config), clock, logger: log.child({ link: config.port }), waitForDevice: true });
    }
    return createUdpLink({ bind: parseEndpoint(config.bind), peers: config.peers.map(parseEndpoint), broadcast: config.broadcast, open: config.open });
  };
}

function dutyOf(config: LinkConfig): { fraction: number; region: string } {
  if (config.kind === "udp") return { fraction: NO_DUTY_CYCLE.fraction, region: "none (UDP)" };
  const preset = DUTY_CYCLE_PRESETS.find((p) => p.name === config.region) ?? NO_DUTY_CYCLE;
  return { fraction: config.duty_cycle ?? preset.fraction, region: preset.name };
}

/** `link`, with a storage failure while handling a received frame caught and reported instead of thrown; anything else still throws. */
function guardFrames(link: Link, onStorageFailure: (f: StorageFailure) => void): Link {
  return {
    mtu: link.mtu,
    airtimeMs: (bytes) => link.airtimeMs(bytes),
    send: (frame) => link.send(frame),
    ...(link.onTransmit ? { onTransmit: (listener: (airtimeMs: number) => void) => link.onTransmit?.(listener) } : {}),
    onFrame: (receive) =>
      link.onFrame((frame) => {
        try {
          receive(frame);
        } catch (err) {
          const failure = storageFailureOf(err);
          if (!failure) throw err;
          onStorageFailure(failure);
        }
      }),
    start: () => link.start(),
    stop: () => link.stop(),
    status: () => link.status(),
  };
}

export function createSiteRadio(o: SiteRadioOptions): SiteRadio {
  const { link, clock, store } = o;
  const duty = dutyOf(o.config);
  const names = new Map(store.members().map((m) => [m.author, m.name ?? undefined] as const));
  const { codec, node, dutyCycle, station } = createRadioStack({
    store, signer: o.signer, link: guardFrames(link, (f) => o.onStorageFailure?.(f)), clock, random: o.random, networkId: networkIdFromName(o.networkName), networkKey: o.networkKey,
    dutyFraction: duty.fraction, sync: { priorityOf: o.priorityOf, blobStore: store, ...(o.wantsBlob ? { wantsBlob: o.wantsBlob } : {}) }, names: (a) => names.get(a),
    onIngest: (report) => {
      if (report.applied > 0) o.onIngest(report.applied);
    },
    log: o.log.child({ link: o.index }),
  });
  return { index: o.index, config: o.config, link, codec, node, dutyCycle, station, region: duty.region, clock };
}
