/**
 * What one pass over one mapped form works with: the site's store, the
 * bridge's tables, the form on the server and its mapping. The poller, the
 * file poller, the planner and the writer each take this (plus what only
 * they need), so a pass hands the same object to each.
 */
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { BridgeFiles } from "./bridge-files.js";
import type { BridgeStore } from "./bridge-store.js";
import type { LocalForm } from "./local-form.js";
import type { ResolvedMapping } from "./mapping.js";

export interface FormContext {
  readonly store: SqliteStore;
  /** Local copies, cursors and the outbox. */
  readonly bridge: BridgeStore;
  /** Attachment bookkeeping: checks and waits for bytes. */
  readonly files: BridgeFiles;
  readonly mapping: ResolvedMapping;
  readonly form: LocalForm;
  readonly now: () => number;
}
