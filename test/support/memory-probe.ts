/**
 * Samples of this process's memory during a long hostile run: the V8 heap
 * after a full collection (what is really retained, not garbage waiting for
 * the collector) and the resident set (which also holds SQLite's pages and
 * buffers outside the heap).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface MemorySample {
  /** Frames handled when the sample was taken. */
  readonly at: number;
  /** V8 heap in use after a full collection, bytes. */
  readonly heapUsed: number;
  /** Resident set size, bytes. */
  readonly rss: number;
}

let collect: (() => void) | undefined;

/** A full garbage collection, enabled on first use (tests do not run with --expose-gc). */
function fullGc(): void {
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}

export function sampleMemory(at: number): MemorySample {
  fullGc();
  const m = process.memoryUsage();
  return { at, heapUsed: m.heapUsed, rss: m.rss };
}

/** What a run's samples say: the retained heap's growth after warm-up, and the largest heap and resident set seen. */
export interface MemorySummary {
  readonly samples: number;
  /** Retained heap at the end minus the smallest retained heap after the first `warmup` share of the run. */
  readonly heapGrowth: number;
  readonly maxHeap: number;
  readonly maxRss: number;
}

export function summarizeMemory(samples: readonly MemorySample[], total: number, warmup = 0.1): MemorySummary {
  const after = samples.filter((s) => s.at >= warmup * total);
  const base = Math.min(...after.map((s) => s.heapUsed));
  const last = after[after.length - 1]?.heapUsed ?? base;
  return {
    samples: samples.length,
    heapGrowth: last - base,
    maxHeap: Math.max(...samples.map((s) => s.heapUsed)),
    maxRss: Math.max(...samples.map((s) => s.rss)),
  };
}

export const MB = 1024 * 1024;
