import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeKissFrame, encodeKissFrames, KissDecoder, type KissFrame } from "../src/radio/kiss.js";

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(" ").map((b) => parseInt(b, 16)));

function decoderAt(time: { now: number }, maxPayload?: number): KissDecoder {
  return new KissDecoder({ now: () => time.now, ...(maxPayload ? { maxPayload } : {}) });
}

function plain(frames: KissFrame[]): { command: number; payload: number[] }[] {
  return frames.map((f) => ({ command: f.command, payload: [...f.payload] }));
}

describe("KISS encoding", () => {
  it("escapes FEND and FESC inside the payload and leaves the command byte bare", () => {
    assert.deepEqual(encodeKissFrame(0x00, hex("01 c0 02 db 03")), hex("c0 00 01 db dc 02 db dd 03 c0"));
    assert.deepEqual(encodeKissFrame(0x50, hex("00")), hex("c0 50 00 c0"));
  });

  it("escapes multi-byte big-endian fields byte by byte", () => {
    // 0xC0DB0000 as a frequency: both bytes escaped separately
    assert.deepEqual(encodeKissFrame(0x01, hex("c0 db 00 00")), hex("c0 01 db dc db dd 00 00 c0"));
  });

  it("shares one FEND between back-to-back frames", () => {
    const burst = encodeKissFrames([
      { command: 0x08, payload: hex("73") },
      { command: 0x50, payload: hex("00") },
    ]);
    assert.deepEqual(burst, hex("c0 08 73 c0 50 00 c0"));
  });
});

describe("KISS decoding", () => {
  it("decodes frames that share FENDs, and skips idle FENDs", () => {
    const d = decoderAt({ now: 0 });
    const frames = d.push(hex("c0 c0 08 46 c0 50 01 56 c0 c0 c0 23 80 c0"));
    assert.deepEqual(plain(frames), [
      { command: 0x08, payload: [0x46] },
      { command: 0x50, payload: [0x01, 0x56] },
      { command: 0x23, payload: [0x80] },
    ]);
  });

  it("ignores noise before the first FEND", () => {
    const d = decoderAt({ now: 0 });
    assert.deepEqual(plain(d.push(hex("12 34 c0 06 01 c0"))), [{ command: 0x06, payload: [0x01] }]);
  });

  it("round-trips any payload, cut into any chunks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ command: fc.integer({ min: 0, max: 0xbf }), payload: fc.uint8Array({ maxLength: 600 }) }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (frames, cuts, shared) => {
          const bytes = shared ? encodeKissFrames(frames) : Uint8Array.from(frames.flatMap((f) => [...encodeKissFrame(f.command, f.payload)]));
          const d = decoderAt({ now: 0 });
          const out: KissFrame[] = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length] ?? 1;
            out.push(...d.push(bytes.subarray(at, at + size)));
            at += size;
          }
          assert.deepEqual(plain(out), plain(frames));
          assert.equal(d.counts.frames, frames.length);
        },
      ),
    );
  });

  it("discards a partial frame after 100 ms of silence, on the injected clock", () => {
    const time = { now: 0 };
    const d = decoderAt(time);
    assert.deepEqual(d.push(hex("c0 00 01 02")), []);
    time.now = 150;
    // the rest of the stale frame arrives after the silence: dropped up to the next FEND
    assert.deepEqual(plain(d.push(hex("03 c0 00 09 c0"))), [{ command: 0x00, payload: [0x09] }]);
    assert.equal(d.counts.timedOut, 1);
  });

  it("keeps a partial frame across a pause shorter than the timeout", () => {
    const time = { now: 0 };
    const d = decoderAt(time);
    d.push(hex("c0 00 01"));
    time.now = 90;
    assert.deepEqual(plain(d.push(hex("02 c0"))), [{ command: 0x00, payload: [0x01, 0x02] }]);
    assert.equal(d.counts.timedOut, 0);
  });

  it("drops and counts frames with a bad escape, then carries on", () => {
    const d = decoderAt({ now: 0 });
    const frames = d.push(hex("c0 00 01 db 05 02 c0 00 aa db c0 00 bb c0"));
    assert.deepEqual(plain(frames), [{ command: 0x00, payload: [0xbb] }]);
    assert.equal(d.counts.badEscapes, 2, "FESC + 05, and FESC right before FEND");
  });

  it("drops and counts an oversize frame without losing the next one", () => {
    const d = decoderAt({ now: 0 }, 4);
    const frames = d.push(hex("c0 00 01 02 03 04 05 c0 00 01 02 03 04 c0"));
    assert.deepEqual(plain(frames), [{ command: 0x00, payload: [1, 2, 3, 4] }]);
    assert.equal(d.counts.oversize, 1);
  });

  it("returns a command with an empty payload as a frame", () => {
    const d = decoderAt({ now: 0 });
    assert.deepEqual(plain(d.push(hex("c0 50 c0"))), [{ command: 0x50, payload: [] }]);
  });
});
