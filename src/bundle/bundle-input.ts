/**
 * Where a bundle to import comes from: a file (the CLI), bytes already in
 * memory, or a stream (an HTTP upload). Import reads a bundle twice (verify
 * everything, then ingest), so a stream is first copied to a private spool
 * file, which is deleted afterwards.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressListener } from "./bundle-progress.js";

/** A bundle to import or verify. `name` is what messages call it (default: the path, or "the uploaded bundle"). */
export type BundleInput =
  | { readonly path: string; readonly name?: string }
  | { readonly bytes: Uint8Array; readonly name?: string }
  | {
      readonly stream: AsyncIterable<Uint8Array>;
      readonly name?: string;
      /** Directory for the spool file (default: the system temp directory); it should be on a disk with room for the bundle. */
      readonly spoolDir?: string;
    };

/** A bundle that can be read from the start any number of times. */
export interface ReadableBundle {
  readonly name: string;
  readonly size: number;
  open(): AsyncIterable<Uint8Array>;
  /** Deletes the spool file, if there is one. */
  release(): Promise<void>;
}

/** Reading the bundle's bytes failed (a missing file, no permission, an upload that broke off). Carries the file and the cause. */
export class BundleReadError extends Error {
  override readonly name = "BundleReadError";
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`cannot read ${file}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Bytes read from a file at a time: large enough for few system calls, small against a chunk. */
const READ_PIECE_BYTES = 256 * 1024;

/** Spool progress is reported at most once per this many bytes. */
const SPOOL_PROGRESS_STEP = 1024 * 1024;

/** Makes `input` re-readable. Throws BundleReadError if it cannot be read. */
export async function openBundleInput(input: BundleInput, onProgress?: ProgressListener): Promise<ReadableBundle> {
  if ("bytes" in input) {
    const bytes = input.bytes;
    return { name: input.name ?? "the bundle", size: bytes.length, open: () => once(bytes), release: async () => undefined };
  }
  if ("path" in input) return { ...(await fileBundle(input.path)), name: input.name ?? input.path };
  const dir = await mkdtemp(join(input.spoolDir ?? tmpdir(), "meshlogd-bundle-"));
  const name = input.name ?? "the uploaded bundle";
  try {
    const path = join(dir, "bundle");
    await spool(input.stream, path, name, onProgress);
    return { ...(await fileBundle(path)), name, release: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function fileBundle(path: string): Promise<ReadableBundle> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new BundleReadError(path, err);
  }
  return { name: path, size, open: () => readFile(path), release: async () => undefined };
}

async function* readFile(path: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path, { highWaterMark: READ_PIECE_BYTES });
  try {
    for await (const piece of stream) yield piece as Buffer;
  } catch (err) {
    throw new BundleReadError(path, err);
  } finally {
    stream.destroy();
  }
}

async function spool(source: AsyncIterable<Uint8Array>, path: string, name: string, onProgress?: ProgressListener): Promise<void> {
  const fh = await open(path, "wx", 0o600); // the bundle may be unsealed: only this user may read the copy
  let bytes = 0;
  let reported = 0;
  const report = () => onProgress?.({ phase: "receive", events: 0, totalEvents: null, bytes, totalBytes: null });
  try {
    try {
      for await (const piece of source) {
        await fh.writeFile(piece);
        bytes += piece.length;
        if (bytes - reported >= SPOOL_PROGRESS_STEP) {
          reported = bytes;
          report();
        }
      }
    } catch (err) {
      throw new BundleReadError(name, err);
    }
    report();
  } finally {
    await fh.close();
  }
}
