/**
 * Group commit for the writer's bookkeeping. With the store's default
 * durability every transaction waits for the disk (fsync), and that wait,
 * not HTTP, bounded how fast records could be written back: two per record.
 * Work handed to `run` during one turn of the event loop (the answers of
 * several writes in flight arriving together) commits in one transaction
 * at the end of that turn, so one disk wait serves them all.
 *
 * Each caller still learns its own result only after the commit, so nothing
 * it does next (a follow-up request) runs ahead of what is in the database.
 *
 * What the writer commits here only records that a write landed, and the
 * server already holds that fact: so these commits skip the disk wait
 * (SQLite `synchronous = NORMAL` for the one transaction; in WAL mode the
 * commit is safe from a crash of the process, and reaches the disk with the
 * next synced commit or checkpoint, in order). A power cut can lose the last
 * of them; the write is then sent again with the same bytes and recognised
 * as landed (writer.ts, resolveConflict), as after an answer lost on the way.
 */
import type { SqliteStore } from "../engine/store/sqlite-store.js";

/** SQLite's code for `synchronous = NORMAL` (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA). */
const SYNC_NORMAL = 1;

export interface GroupCommit {
  /** Runs `fn` inside the next shared transaction; resolves with its result once that transaction has committed. */
  run<T>(fn: () => T): Promise<T>;
}

interface Waiting {
  readonly fn: () => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Runs `fn` (one transaction) with SQLite's `synchronous` at NORMAL, then puts back the store's own `setting`. */
function withoutDiskWait<T>(store: SqliteStore, setting: number, fn: () => T): T {
  if (setting <= SYNC_NORMAL) return fn();
  store.db.pragma(`synchronous = ${SYNC_NORMAL}`);
  try {
    return fn();
  } finally {
    store.db.pragma(`synchronous = ${setting}`);
  }
}

/** A group committer over `store`; if the shared transaction fails, every caller in it gets the error (nothing of it is kept). */
export function createGroupCommit(store: SqliteStore): GroupCommit {
  let queue: Waiting[] = [];
  const setting = store.db.pragma("synchronous", { simple: true }) as number; // the store's own, read once per committer

  function flush(): void {
    const batch = queue;
    queue = [];
    let results: unknown[];
    try {
      results = withoutDiskWait(store, setting, () => store.atomically(() => batch.map((w) => w.fn())));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  return {
    run<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      });
    },
  };
}
