/**
 * Exact-length reads over a stream of byte pieces of any size (a file read
 * stream, an HTTP upload, slices of a Buffer), holding no more than the
 * largest read asked for plus one piece.
 */

/** Reads a byte stream in pieces of the caller's choosing. */
export interface ByteReader {
  /** The next `n` bytes; fewer only at the end of the stream (then all that was left). */
  read(n: number): Promise<Buffer>;
  /** True if the stream has no byte left. */
  atEnd(): Promise<boolean>;
  /** Bytes handed out so far. */
  readonly offset: number;
  /** Stops reading early and releases the source (closes a file stream). */
  close(): Promise<void>;
}

export function createByteReader(source: AsyncIterable<Uint8Array>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let pending: Buffer[] = [];
  let buffered = 0;
  let done = false;
  let offset = 0;

  async function fill(n: number): Promise<void> {
    while (buffered < n && !done) {
      const next = await it.next();
      if (next.done) {
        done = true;
        break;
      }
      const v = next.value;
      const piece = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (piece.length === 0) continue;
      pending.push(piece);
      buffered += piece.length;
    }
  }

  return {
    async read(n) {
      await fill(n);
      const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, buffered);
      const take = Math.min(n, buffered);
      const out = all.subarray(0, take);
      pending = take < all.length ? [all.subarray(take)] : [];
      buffered -= take;
      offset += take;
      return out;
    },
    async atEnd() {
      await fill(1);
      return buffered === 0;
    },
    get offset() {
      return offset;
    },
    async close() {
      pending = [];
      buffered = 0;
      if (!done) {
        done = true;
        await it.return?.();
      }
    },
  };
}
