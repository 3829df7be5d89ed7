/**
 * What must hold after a station fuzz run (station-fuzz-run.ts), shared by
 * the quick fuzz and the hardening run: every frame counted by reason and the
 * counters adding up; the deep paths reached; the store as it was, but for
 * fork evidence from the insider's pool; bounds kept; what the station sent
 * well-formed and within its duty cycle.
 */
import assert from "node:assert/strict";
import { totalDropped } from "../../src/radio/air/stats.js";
import { checkBounded, checkUnchanged, DUTY_FRACTION, HOUR, type FuzzRun } from "./station-fuzz-run.js";

/** Decode failures the sync node counts per message (other reasons count entries within a parsed one). */
const MESSAGE_DROPS = ["undecodable", "bad-version", "bad-type", "malformed-message"];

/** One line per layer of what became of the frames, for the test's diagnostics. */
export function describeRun(run: FuzzRun): string[] {
  const t = run.target;
  const s = t.codec.stats;
  return [
    `codec: decoded ${s.framesDecoded}, dropped ${JSON.stringify(s.dropped)}, reassembled ${s.messagesReassembled}, nacks answered ${s.nacksAnswered}`,
    `node: ${t.node.stats.framesReceived} messages, parsed ${JSON.stringify(t.node.parsed)}, dropped ${JSON.stringify(t.node.stats.dropped)}`,
    `ingest: ${JSON.stringify(t.ingests)}; gap buffer ${t.store.gapBufferSize()}; forks held ${t.store.forks().length}; sent ${run.sent.frames} frames; heard table up to ${run.maxHeard}`,
  ];
}

export function assertCounted(run: FuzzRun, frames: number): void {
  const { target: t, injected } = run;
  const s = t.codec.stats;
  assert.equal(injected, frames);
  assert.equal(t.station.status().framesReceived, injected);
  assert.equal(s.framesReceived, injected);
  assert.equal(s.framesDecoded + totalDropped(s), injected, `decoded ${s.framesDecoded} + dropped ${JSON.stringify(s.dropped)}`);
  assert.equal(s.framesDecoded, s.messagesDelivered - s.messagesReassembled + s.fragmentsReceived + s.fragmentsDuplicate + s.nacksReceived);
  const node = t.node.stats;
  assert.equal(node.framesReceived, s.messagesDelivered, "every delivered message reached the sync node");
  const parsed = Object.values(t.node.parsed).reduce((a, b) => a + b, 0);
  const refused = MESSAGE_DROPS.reduce((a, r) => a + (node.dropped[r] ?? 0), 0);
  assert.equal(parsed + refused, node.framesReceived, `parsed ${parsed} + refused ${JSON.stringify(node.dropped)}`);
  // The store counts every ingest outcome by reason, as the ingests reported them.
  const after = t.store.counterValues();
  const delta = (name: string) => (after[name] ?? 0) - (run.before.counters[name] ?? 0);
  for (const [reason, n] of Object.entries(t.ingests.refused)) assert.equal(delta(`refused.${reason}`), n, `store counter refused.${reason}`);
  assert.equal(delta("ingest.duplicate"), t.ingests.duplicates);
  assert.equal(delta("ingest.buffered"), t.ingests.buffered);
}

export function assertDeepPaths(run: FuzzRun, sealed: boolean, perGenerator: number): void {
  const { target: t } = run;
  const s = t.codec.stats;
  for (const name of ["too-short", "too-long", "bad-version", "foreign-network", "bad-type", "own-echo", "malformed-fragment", "malformed-nack", sealed ? "auth-failed" : "bad-integrity"]) {
    assert.ok((s.dropped as Record<string, number>)[name]! > 0, `no frame was dropped as ${name}`);
  }
  // A nack is answered (a fragment re-sent) or refused when the nacker is known to hold what it asks for: either reaches the nack path.
  assert.ok(s.messagesReassembled > 0 && s.nacksReceived > 0, "fragments reassembled, nacks received");
  for (const reason of ["undecodable", "malformed-message", "unknown-author"]) assert.ok((t.node.stats.dropped[reason] ?? 0) > 0, `node never dropped ${reason}`);
  for (const type of ["beacon", "frontier", "request", "events"] as const) assert.ok(t.node.parsed[type] > 0, `no ${type} parsed`);
  for (const reason of ["bad-signature", "malformed", "fork"]) assert.ok((t.ingests.refused[reason] ?? 0) > 0, `no ingest refused as ${reason}: ${JSON.stringify(t.ingests)}`);
  assert.ok(t.ingests.duplicates > 0, "genuine items after a fork are duplicates");
  for (const [name, count] of run.byGenerator) assert.ok(count > perGenerator, `only ${count} frames from "${name}"`);
}

/** Frontier, events and view as before; nothing applied; the fork table holds only forks from the insider's pool, each kept beside the genuine event. */
export function assertStoreKept(run: FuzzRun): void {
  const { target: t } = run;
  checkUnchanged(t.store, run.before, true);
  assert.equal(t.ingests.applied, 0, "the station held every genuine event already");
  const forks = t.store.forks();
  assert.ok(forks.length > 0 && forks.length <= run.forkIds.size, `${forks.length} forks held`);
  for (const fork of forks) {
    assert.ok(run.forkIds.has(fork.other.id), `a fork not from the pool: ${fork.other.id}`);
    assert.equal(fork.keptId, t.store.readEvents(fork.author, fork.seq, fork.seq)[0]?.id, "the genuine event is the one kept");
  }
}

export function assertAirWellFormed(run: FuzzRun): void {
  checkBounded(run.target);
  const sent = run.sent;
  assert.ok(sent.frames > 0, "the station answered");
  assert.deepEqual(sent.unopenable, [], "the station sent frames a member cannot open (their kinds)");
  assert.ok(sent.fragments > 0, "it sent fragments");
  // 1 ms of slack: the sliding sum adds and takes off thousands of fractional airtimes.
  assert.ok(sent.worstWindowMs <= DUTY_FRACTION * HOUR + 1, `${sent.worstWindowMs.toFixed(1)} ms of airtime in one hour`);
}
