/**
 * A running site: its store, its bridge to the local form server, and a
 * station on each configured link, wired together in this one place.
 *
 * - The bridge opens when the server answers; until then the radio still
 *   relays and the status says the server is unreachable, retried with
 *   back-off. A mapping that does not fit its form stops start-up.
 * - Polls run on the config's cron schedule, one round at a time.
 * - Events that arrive by radio (or an imported bundle) wake the other links
 *   and trigger a write-back round soon after, so converged records reach the
 *   local server without waiting for the next poll.
 * - A database the machine will not write (disk full, read-only) stops
 *   nothing else: the status says so, polls and frames are retried, and the
 *   problem clears once a poll commits again.
 */
import { accessSync, constants as fsConstants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { schedule as scheduleCron, type ScheduledTask } from "node-cron";
import { MappingError } from "../bridge/mapping.js";
import { createBridge, type Bridge } from "../bridge/bridge.js";
import { retryDelay } from "../bridge/constants.js";
import { describeError } from "../bridge/upstream.js";
import type { Signer } from "../engine/crypto.js";
import { parseAuthorId } from "../engine/ids.js";
import { openStore, type SqliteStore } from "../engine/store/sqlite-store.js";
import { StorageError, storageFailureOf, type StorageFailure } from "../engine/store/storage-failure.js";
import type { Logger } from "../log/logger.js";
import { parseNetworkKey } from "../radio/air/network-key.js";
import { realClock, type Clock } from "../radio/clock.js";
import { bridgeConfigOf, maxForwardSkewMsOf, type SiteConfig } from "./site-config.js";
import { createSiteProblems, type SiteProblemState } from "./site-problems.js";
import type { AttachmentMeta } from "../engine/sync/attachment-index.js";
import { createSiteRadio, defaultLinkFactory, type LinkFactory, type SiteRadio } from "./site-radio.js";

/** The database file in the data directory. */
export const DATABASE_FILE = "meshlogd.sqlite";
/**
 * The longest wait between attempts to open an unreachable server: a server
 * brought back (a restarted laptop, a Kobo stack started again) is found
 * within 5 minutes. Below that the attempts back off like the bridge's own
 * retries (retryDelay: doubling from RETRY_BASE_MS, jittered).
 */
export const SERVER_RETRY_MAX_MS = 5 * 60_000;
/** Events from the radio are written back after this quiet time, so a burst makes one round. */
export const WRITE_BACK_DELAY_MS = 2_000;

/** Where the local form server stands, for the status API and the admin page's banner. */
export interface ServerState {
  /** "mapping": the server answered, but a mapping does not fit its forms (found on a retry after an outage). */
  state: "starting" | "ok" | "unreachable" | "refused" | "mapping";
  /** What went wrong, in words a user can act on. */
  error: string | null;
  since: number;
}

export interface SiteOptions {
  readonly config: SiteConfig;
  readonly signer: Signer;
  /** Data directory (database); ":memory:" keeps the store in memory (tests). */
  readonly dataDir: string;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly now?: () => number;
  /** Uniform in [0, 1): the radios' jitter and that of the retries to open the server (seed it for reproducible runs). */
  readonly random?: () => number;
  readonly makeLink?: LinkFactory;
  /** Disables the cron schedule (tests drive polls themselves). */
  readonly manualPolls?: boolean;
}

export interface Site {
  readonly config: SiteConfig;
  readonly signer: Signer;
  readonly store: SqliteStore;
  readonly bridge: Bridge;
  readonly radios: readonly SiteRadio[];
  readonly startedAt: number;
  /** Where the database lives (":memory:" in some tests). */
  readonly dataDir: string;
  server(): ServerState;
  /** True from the end of start() until stop() begins. */
  running(): boolean;
  /** Opens the bridge (or starts retrying it) and the links. Throws MappingError on a bad mapping. */
  start(): Promise<void>;
  /** Stops polling and the links, lets a running round finish, closes the store. */
  stop(): Promise<void>;
  /** One poll-and-write round now (after any running one); false while the server is not open. */
  pollNow(): Promise<boolean>;
  /** Tells every link the feed grew (events appended or imported outside the radio). */
  changed(): void;
  /** Poll-and-write rounds so far and their durations (the metrics' poll latency). */
  rounds(): RoundStats;
  /** Why the last poll round or the database failed, in words; null while all works. */
  problems(): SiteProblemState;
}

export interface RoundStats {
  count: number;
  totalMs: number;
  lastMs: number | null;
}

/** Where the site's database lives. */
export function databasePath(dataDir: string): string {
  return dataDir === ":memory:" ? ":memory:" : join(dataDir, DATABASE_FILE);
}

/**
 * Opens (creating if need be) the site's database with exactly the config's
 * members: those listed are added, and one the store knew but the config no
 * longer lists is removed from the whole network by a removal event (its
 * events up to the newest held stay and still spread; later ones are refused
 * at every site that gets the event). A member another site removed stays
 * removed even if listed (removal-notes.ts tells the admin).
 * Throws StorageError when the machine refuses (read-only or full disk, no
 * permission).
 */
/**
 * Opens the site's store and trusts the configured members. `removals`: also sign a removal event for each
 * member the config no longer lists. Only the running site does that: a CLI command (export, import) that
 * opened the file beside it and appended an event would fork the site's own feed.
 */
export function openSiteStore(o: Pick<SiteOptions, "config" | "signer" | "dataDir" | "now">, removals = false): SqliteStore {
  const path = databasePath(o.dataDir);
  let store: SqliteStore | undefined;
  try {
    if (o.dataDir !== ":memory:") mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    store = openStore({ path, signer: o.signer, maxForwardSkewMs: maxForwardSkewMsOf(o.config), ...(o.now ? { now: o.now } : {}) });
    const listed = new Set<string>([o.signer.author]);
    for (const m of o.config.network.members) {
      const author = parseAuthorId(m.key);
      if (!author) continue;
      listed.add(author);
      if (author !== o.signer.author) store.addMember(author, m.name);
    }
    if (removals) for (const m of store.members()) if (!listed.has(m.author)) store.removeMemberEverywhere(m.author);
    return store;
  } catch (err) {
    store?.close();
    const failure = storageFailureOf(err);
    // SQLite says only that it cannot open the file; the directory says why (read-only, no permission).
    throw failure ? new StorageError(path, (o.dataDir !== ":memory:" && dirFailure(o.dataDir)) || failure) : err;
  }
}

/** Why the data directory refuses writes, if it does. */
function dirFailure(dir: string): StorageFailure | null {
  try {
    accessSync(dir, fsConstants.W_OK);
    return null;
  } catch (err) {
    return storageFailureOf(err);
  }
}

export function createSite(o: SiteOptions): Site {
  const { config, log } = o;
  const clock = o.clock ?? realClock();
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const store = openSiteStore(o, true);
  const bridge = createBridge({ store, config: bridgeConfigOf(config), now, log });
  const networkKey = config.network.key ? parseNetworkKey(config.network.key, "network.key") : null;
  const priorities = new Map(config.mappings.map((m) => [m.type, m.priority] as const));
  // Attachment bytes come by radio for the record types whose mapping here says "transfer", up to its max_bytes.
  const transferMax = new Map(config.mappings.flatMap((m) => (m.attachments.policy === "transfer" ? [[m.type, m.attachments.max_bytes] as const] : [])));
  const makeLink = o.makeLink ?? defaultLinkFactory(clock, log);
  const server: ServerState = { state: "starting", error: null, since: now() };
  let opened = false;
  let stopped = false;
  let started = false;
  let openFailures = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let writeTimer: NodeJS.Timeout | null = null;
  let cronTask: ScheduledTask | null = null;
  let round: Promise<void> | null = null;
  let again = false;
  const rounds: RoundStats = { count: 0, totalMs: 0, lastMs: null };
  const problems = createSiteProblems({ log, databasePath: databasePath(o.dataDir) });

  const radios: SiteRadio[] = config.links.map((linkConfig, index) =>
    createSiteRadio({
      index, config: linkConfig, store, signer: o.signer, networkName: config.network.name, networkKey, clock, random,
      log, link: makeLink(linkConfig, index), priorityOf: (t) => priorities.get(t) ?? 0,
      ...(transferMax.size > 0 ? { wantsBlob: (meta: AttachmentMeta) => meta.size <= (transferMax.get(meta.type) ?? -1) } : {}),
      onIngest: (applied) => {
        problems.storageWorks();
        for (const r of radios) if (r.index !== index) r.station.kick();
        log.debug("events received", { link: index, applied });
        writeSoon();
      },
      onStorageFailure: (f) => problems.storageFails(f, "events received by radio were dropped; they are asked for again"),
    }),
  );

  function setServer(state: ServerState["state"], error: string | null): void {
    if (server.state !== state || server.error !== error) Object.assign(server, { state, error, since: now() });
  }

  /** Poll-and-write rounds never overlap; a request during one runs once more after it. */
  function runRound(): Promise<void> {
    if (round) {
      again = true;
      return round;
    }
    round = (async () => {
      do {
        again = false;
        const before = store.eventCount();
        const t0 = performance.now();
        await bridge.syncOnce();
        rounds.lastMs = performance.now() - t0;
        rounds.count += 1;
        rounds.totalMs += rounds.lastMs;
        if (store.eventCount() !== before) changed();
        problems.roundDone(bridge.status().forms.every((f) => f.lastPollError === null));
      } while (again && !stopped);
    })()
      .catch(problems.roundFailed)
      .finally(() => (round = null));
    return round;
  }

  function writeSoon(): void {
    if (!opened || stopped || writeTimer) return;
    writeTimer = setTimeout(() => {
      writeTimer = null;
      void runRound();
    }, WRITE_BACK_DELAY_MS);
  }

  function changed(): void {
    for (const r of radios) r.station.kick();
  }

  /** At start-up a mapping error stops the site; found later (the server came back), it is shown until a restart. */
  function mappingDoesNotFit(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    log.error("a mapping does not fit the form server; fix the mappings in the config and restart meshlogd", { error: msg });
    setServer("mapping", msg);
  }

  async function openBridge(): Promise<void> {
    retryTimer = null;
    if (stopped) return;
    let r;
    try {
      r = await bridge.open();
    } catch (err) {
      if (err instanceof MappingError) throw err;
      r = { ok: false as const, error: { kind: "unreachable" as const, message: String(err) } };
    }
    if (stopped) return;
    if (!r.ok) {
      // Central's refused login already names its keys (odk-client.ts); a refused Kobo token is named here.
      const keys = r.error.kind === "auth" && config.server.kind === "kobo" ? ". Check server.token in the config (or the environment variable it names) and restart meshlogd" : "";
      const msg = describeError(r.error) + keys;
      openFailures += 1;
      const waitMs = Math.min(SERVER_RETRY_MAX_MS, retryDelay(openFailures, random));
      const what = r.error.kind === "auth" ? "the form server refuses this site's credentials" : "the form server cannot be reached";
      log.warn(`${what}; will try again`, { error: msg, retryInS: Math.round(waitMs / 1000) });
      setServer(r.error.kind === "auth" ? "refused" : "unreachable", msg);
      retryTimer = setTimeout(() => void openBridge().catch(mappingDoesNotFit), waitMs);
      return;
    }
    opened = true;
    setServer("ok", null);
    // A (re)start is when an admin has fixed credentials or a form: writes waiting out a long pause are tried now.
    const due = bridge.retryOutbox();
    if (due > 0) log.info("failed write-backs are tried again now", { entries: due });
    changed(); // vocabularies may have been published
    if (!o.manualPolls) cronTask = scheduleCron(config.schedule.poll, () => void runRound(), { name: "poll", noOverlap: true });
    void runRound();
  }

  return {
    config, signer: o.signer, store, bridge, radios, startedAt: now(), dataDir: o.dataDir,
    server: () => ({ ...server }),
    running: () => started && !stopped,
    async start() {
      for (const r of radios) {
        // A radio that cannot start (not an RNode, no permission) is an error the admin must fix: say which.
        // One not plugged in yet starts down and comes up once it is (defaultLinkFactory's waitForDevice).
        await r.station.start();
      }
      await openBridge();
      started = true;
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (writeTimer) clearTimeout(writeTimer);
      if (cronTask) await cronTask.destroy();
      if (round) await round;
      await bridge.stop();
      for (const r of radios) await r.station.stop();
      store.close();
    },
    async pollNow() {
      if (!opened) return false;
      await runRound();
      return true;
    },
    changed,
    rounds: () => ({ ...rounds }),
    problems: () => problems.state(),
  };
}
