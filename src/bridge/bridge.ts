/**
 * The bridge of one site: every mapped form polled into the site's feed and
 * the converged records written back, on a timer, with status for the API.
 * Wires the store, the forms (open-forms.ts), the poller and the writer.
 */
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import { silentLogger, type Logger } from "../log/logger.js";
import { createBridgeFiles } from "./bridge-files.js";
import { createBridgeStore, type BridgeStore, type OutboxEntry, type OutboxState } from "./bridge-store.js";
import type { FieldType } from "./form-schema.js";
import type { BridgeConfig } from "./mapping-config.js";
import { openForms, type OpenedForm } from "./open-forms.js";
import type { FilePollStats } from "./file-poller.js";
import { pollForm, type PollStats } from "./poller.js";
import { describeError, ok, type Result } from "./upstream.js";
import { publishVocabularies } from "./vocabulary-publish.js";
import { writeForm, type WriteStats } from "./writer.js";

/** Poll/write rounds per sync when a write found a person's change it must read first. */
const MAX_ROUNDS = 3;

export interface FormStatus {
  readonly source: string;
  readonly type: string;
  readonly describe: string;
  lastPollAt: number | null;
  lastPollError: string | null;
  lastWriteError: string | null;
  totals: { events: number; echoes: number; written: number; writeFailures: number };
  /** Attachments (policy metadata or transfer): events appended, files sent as metadata only (over max_bytes), records whose files are still to read, files awaiting bytes. */
  files: { events: number; metadataOnly: number; checksOpen: number; awaitingBytes: number; lastError: string | null };
}

export interface BridgeStatus {
  readonly forms: readonly FormStatus[];
  readonly outbox: Record<OutboxState, number>;
}

export interface BridgeOptions {
  readonly store: SqliteStore;
  readonly config: BridgeConfig;
  readonly now?: () => number;
  readonly log?: Logger;
}

export interface Bridge {
  /** Reads the forms and checks the mappings. Fails (value) if the server is unreachable; throws MappingError on a bad mapping. */
  open(): Promise<Result<void>>;
  /** One round: poll every form, write what is due; again if a write needed a fresh poll. */
  syncOnce(): Promise<void>;
  /** Runs syncOnce every `poll_interval_s` until stop(). */
  start(): void;
  stop(): Promise<void>;
  /** Makes every failed outbox entry due now (after the admin fixed a cause); returns how many. */
  retryOutbox(): number;
  status(): BridgeStatus;
  outbox(state: OutboxState, limit: number): OutboxEntry[];
  /** The local form's type of each shared field of a record type (for showing values); empty before open(). */
  fieldTypes(type: string): ReadonlyMap<string, FieldType>;
  readonly tables: BridgeStore;
}

export function createBridge(options: BridgeOptions): Bridge {
  const { store, config } = options;
  const now = options.now ?? Date.now;
  const log = (options.log ?? silentLogger).child({ component: "bridge" });
  const hashKey = config.hash_key ? Buffer.from(config.hash_key, "utf8") : null;
  const tables = createBridgeStore(store.db);
  const files = createBridgeFiles(store.db);
  let forms: OpenedForm[] = [];
  const status = new Map<string, FormStatus>();
  let timer: NodeJS.Timeout | null = null;
  let round: Promise<void> | null = null;
  let stopped = false;

  async function pollOne(o: OpenedForm): Promise<PollStats | null> {
    const st = status.get(o.form.source)!;
    const r = await pollForm({ store, bridge: tables, files, mapping: o.mapping, form: o.form, hashKey, now });
    st.lastPollAt = now();
    if (!r.ok) {
      const msg = describeError(r.error);
      if (st.lastPollError !== msg) log.warn("poll failed; will retry", { form: o.form.source, error: msg });
      st.lastPollError = msg;
      return null;
    }
    if (st.lastPollError) log.info("poll works again", { form: o.form.source });
    st.lastPollError = null;
    st.totals.events += r.value.events;
    st.totals.echoes += r.value.echoes;
    if (r.value.events > 0) log.info("local changes taken in", { form: o.form.source, events: r.value.events });
    if (r.value.files) noteFiles(o, st, r.value.files);
    return r.value;
  }

  function noteFiles(o: OpenedForm, st: FormStatus, f: FilePollStats): void {
    st.files.events += f.events;
    st.files.metadataOnly += f.tooLarge.length;
    st.files.checksOpen = files.checksOpen(o.form.source);
    st.files.awaitingBytes = files.waiting(o.form.source);
    if (f.tooLarge.length > 0) {
      log.info("attachments larger than attachments.max_bytes: their metadata replicates, their bytes stay on this server", { form: o.form.source, files: f.tooLarge });
    }
    if (f.lastError !== st.files.lastError && f.lastError) log.warn("attachments not read yet; will retry", { form: o.form.source, records: f.retried, error: f.lastError });
    st.files.lastError = f.lastError;
  }

  async function writeOne(o: OpenedForm, pollAgain: () => void): Promise<WriteStats> {
    const st = status.get(o.form.source)!;
    const w = await writeForm({ store, bridge: tables, files, mapping: o.mapping, form: o.form, now, requestPoll: pollAgain });
    st.totals.written += w.written;
    st.totals.writeFailures += w.failed;
    if (w.failed > 0) {
      const failed = tables.list("failed", 1)[0];
      st.lastWriteError = failed?.lastError ?? null;
      log.warn("writes failed; will retry", { form: o.form.source, failed: w.failed, error: st.lastWriteError });
    } else {
      // Cleared by a write that landed, or when nothing failed is left (a poll recognised the write that timed out as landed).
      const failing = tables.counts().some((c) => c.source === o.form.source && c.state === "failed" && c.n > 0);
      if (w.written > 0 || !failing) st.lastWriteError = null;
      if (w.written > 0) log.info("records written", { form: o.form.source, written: w.written });
    }
    return w;
  }

  async function syncForm(o: OpenedForm): Promise<void> {
    for (let i = 0; i < MAX_ROUNDS; i++) {
      let again = false;
      await pollOne(o);
      await writeOne(o, () => (again = true));
      if (!again) return;
    }
  }

  async function syncOnce(): Promise<void> {
    for (const o of forms) await syncForm(o);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = syncOnce()
        .catch((err: unknown) => log.error("sync round failed", { error: String(err) }))
        .finally(() => {
          round = null;
          schedule();
        });
    }, config.poll_interval_s * 1000);
  }

  return {
    tables,
    async open() {
      const r = await openForms(config);
      if (!r.ok) return r;
      forms = r.value;
      const published = publishVocabularies(store, forms.map((o) => o.mapping));
      if (published.length > 0) log.info("vocabularies published", { types: published.map((e) => (e.body.kind === "vocabulary" ? e.body.type : "")) });
      for (const o of forms) {
        status.set(o.form.source, {
          source: o.form.source, type: o.mapping.type, describe: o.form.describe, lastPollAt: null, lastPollError: null,
          lastWriteError: null, totals: { events: 0, echoes: 0, written: 0, writeFailures: 0 },
          files: { events: 0, metadataOnly: 0, checksOpen: 0, awaitingBytes: 0, lastError: null },
        });
      }
      log.info("forms opened", { forms: forms.map((o) => `${o.mapping.type} <- ${o.form.describe}`) });
      return ok(undefined);
    },
    syncOnce,
    start() {
      stopped = false;
      round = syncOnce()
        .catch((err: unknown) => log.error("sync round failed", { error: String(err) }))
        .finally(() => {
          round = null;
          schedule();
        });
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (round) await round;
      for (const o of forms) await o.form.close();
      forms = [];
    },
    retryOutbox() {
      let n = 0;
      for (const e of tables.list("failed", 1_000_000)) {
        tables.setState(e.source, e.record, "failed", e.attempts, 0, e.lastError, now());
        n += 1;
      }
      return n;
    },
    status() {
      const outbox: Record<OutboxState, number> = { pending: 0, written: 0, failed: 0 };
      for (const c of tables.counts()) outbox[c.state] += c.n;
      return { forms: [...status.values()], outbox };
    },
    outbox: (state, limit) => tables.list(state, limit),
    fieldTypes(type) {
      const o = forms.find((f) => f.mapping.type === type);
      const out = new Map<string, FieldType>();
      for (const u of o?.mapping.units ?? []) if (u.node.kind === "field") out.set(u.shared, u.node.type);
      return out;
    },
  };
}
