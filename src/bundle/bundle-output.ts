/**
 * Where an exported bundle goes: a file (the CLI; written beside its final
 * name and renamed into place once complete and synced, so a half-written
 * bundle never carries the name) or a stream (an HTTP download), written with
 * backpressure.
 */
import { once } from "node:events";
import { open, rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";

/** A bundle's destination. A stream is ended when the bundle is complete (and destroyed if export fails). */
export type BundleOutput = { readonly path: string } | { readonly stream: Writable };

/** Bytes in, then either commit (complete and durable) or abort (nothing left behind). */
export interface ByteSink {
  write(bytes: Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function openByteSink(output: BundleOutput): Promise<ByteSink> {
  return "path" in output ? fileSink(output.path) : streamSink(output.stream);
}

async function fileSink(path: string): Promise<ByteSink> {
  const partial = `${path}.${randomBytes(4).toString("hex")}.partial`;
  const fh = await open(partial, "wx");
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    write: (bytes) => fh.writeFile(bytes),
    async commit() {
      await fh.sync(); // a USB stick pulled right after export must still hold the whole file
      await close();
      await rename(partial, path);
    },
    async abort() {
      await close();
      await rm(partial, { force: true });
    },
  };
}

function streamSink(stream: Writable): ByteSink {
  return {
    async write(bytes) {
      if (stream.destroyed) throw new Error("the bundle's output stream was closed before the bundle was complete");
      if (!stream.write(bytes)) await drained(stream);
    },
    async commit() {
      stream.end();
      await finished(stream);
    },
    async abort() {
      stream.destroy();
    },
  };
}

/** Resolves when `stream` drains; rejects if it closes or fails first (a client that went away). */
async function drained(stream: Writable): Promise<void> {
  const ac = new AbortController();
  const closed = once(stream, "close", { signal: ac.signal }).then(() => {
    throw new Error("the bundle's output stream was closed before the bundle was complete");
  });
  try {
    await Promise.race([once(stream, "drain", { signal: ac.signal }), closed]);
  } finally {
    ac.abort(); // drops the listener that lost the race
  }
}
