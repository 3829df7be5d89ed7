/**
 * What has gone wrong in a running site that its status must say, beyond the
 * form server's own state: the database refusing writes (disk full,
 * read-only), and a poll round that stopped at an unexpected error. Each is
 * logged once when it starts (per consequence), shown until it clears, and
 * logged again when it does.
 */
import { describeStorageFailure, storageFailureOf, type StorageFailure } from "../engine/store/storage-failure.js";
import type { Logger } from "../log/logger.js";

/** The problems as words for the status API; null where all is well. */
export interface SiteProblemState {
  readonly round: string | null;
  readonly storage: string | null;
}

export interface SiteProblems {
  /** A write the machine refused; `consequence` says what was given up (logged once per problem). */
  storageFails(f: StorageFailure, consequence: string): void;
  /** A write worked again. */
  storageWorks(): void;
  /** A poll round ran to its end; `committed` when every form's poll committed (so the database takes writes). */
  roundDone(committed: boolean): void;
  /** A poll round threw. */
  roundFailed(err: unknown): void;
  state(): SiteProblemState;
}

export function createSiteProblems(o: { readonly log: Logger; readonly databasePath: string }): SiteProblems {
  const { log } = o;
  let round: string | null = null;
  let storage: string | null = null;
  const logged = new Set<string>();

  const problems: SiteProblems = {
    storageFails(f, consequence) {
      const msg = describeStorageFailure(f, o.databasePath);
      if (storage !== msg) logged.clear();
      if (!logged.has(consequence)) log.error("the database cannot be written", { reason: msg, consequence });
      logged.add(consequence);
      storage = msg;
    },
    storageWorks() {
      if (storage === null) return;
      log.info("the database can be written again");
      storage = null;
      logged.clear();
    },
    roundDone(committed) {
      round = null;
      if (committed) problems.storageWorks();
    },
    roundFailed(err) {
      const failure = storageFailureOf(err);
      if (failure) return problems.storageFails(failure, "the poll round stopped; it runs again on schedule");
      log.error("poll round failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      round = String(err);
    },
    state: () => ({ round, storage }),
  };
  return problems;
}
