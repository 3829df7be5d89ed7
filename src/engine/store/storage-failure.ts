/**
 * The machine refusing a database write: the disk is full, the file system
 * or the data directory is read-only, the disk reports an I/O error, or the
 * file cannot be opened. SQLite rolls the transaction back and the file stays
 * intact, so these are outcomes to report and retry, not damage (unlike
 * StoreCorruptError, which is never caught).
 */

export type StorageFailureKind = "full" | "read-only" | "io" | "cannot-open";

export interface StorageFailure {
  readonly kind: StorageFailureKind;
  /** SQLite's extended code (SQLITE_FULL, SQLITE_READONLY_DBMOVED…) or the errno code (ENOSPC, EROFS…). */
  readonly code: string;
}

/** errno codes of file-system calls (mkdir, open) and what they mean for the data directory. */
const ERRNO_KINDS: Readonly<Record<string, StorageFailureKind>> = {
  ENOSPC: "full", EDQUOT: "full", EROFS: "read-only", EACCES: "read-only", EPERM: "read-only", EIO: "io",
};

/** The storage failure `err` is, or null for anything else (a bug, a corrupt file: those must not be retried). */
export function storageFailureOf(err: unknown): StorageFailure | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  if (code === "SQLITE_FULL") return { kind: "full", code };
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM" || code === "SQLITE_AUTH") return { kind: "read-only", code };
  if (code.startsWith("SQLITE_IOERR")) return { kind: "io", code };
  if (code.startsWith("SQLITE_CANTOPEN")) return { kind: "cannot-open", code };
  const kind = ERRNO_KINDS[code];
  return kind ? { kind, code } : null;
}

/** What happened to the database at `path` and what to do, for the log and the admin page. */
export function describeStorageFailure(f: StorageFailure, path: string): string {
  switch (f.kind) {
    case "full":
      return `the disk holding ${path} is full (${f.code}): nothing new is stored until space is freed there; meshlogd carries on by itself once it is`;
    case "read-only":
      return `${path} cannot be written (${f.code}): the file system or the data directory is read-only; make it writable for the user meshlogd runs as`;
    case "io":
      return `writing ${path} failed with a disk I/O error (${f.code}): check the disk (dmesg) and its free space`;
    case "cannot-open":
      return `${path} cannot be opened (${f.code}): check that the data directory exists and is writable for the user meshlogd runs as`;
  }
}

/** The site's database could not be opened or prepared at start-up: a user error, printed without a stack trace. */
export class StorageError extends Error {
  override readonly name = "StorageError";

  constructor(
    readonly path: string,
    readonly failure: StorageFailure,
  ) {
    super(describeStorageFailure(failure, path));
  }
}
