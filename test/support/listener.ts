/**
 * A passive listener: what someone who only receives can make of a capture
 * of the air. The captured packets go, in the order heard, through a real air
 * codec (given the network key, or none) and every sync message it recovers
 * into a real SyncNode over a fresh in-memory store that knows the network's
 * members: events are verified and chained, and packed wire items unpacked
 * with the vocabularies the same feeds published earlier — exactly what a
 * station does with what it hears. The listener never polls its node or its
 * codec, so it sends nothing.
 */
import { encodeSignedEvent } from "../../src/engine/event-codec.js";
import type { AuthorId } from "../../src/engine/ids.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { SyncNode } from "../../src/engine/sync/sync-node.js";
import { createAirCodec, type AirCodec } from "../../src/radio/air/codec.js";
import { RNODE_HEADER_BYTES } from "../../src/radio/airtime.js";
import type { TappedPacket } from "../../src/radio/lora-medium.js";

/** A station id no site has: a frame from the listener's own id would be dropped as an echo. */
const LISTENER_ID = Uint8Array.of(0xee, 0xee, 0xee, 0xee);

/** The listener draws no jitter that matters (it never sends); a fixed value keeps it deterministic. */
const NO_JITTER = (): number => 0.5;

export interface ListenerOptions {
  /** The network id frames must carry (it is in every frame's clear header). */
  readonly networkId: number;
  /** The network key to open sealed frames with; null for an outsider. */
  readonly networkKey: Uint8Array | null;
  /** The network's members (public keys), whose events the listener's store accepts. */
  readonly members: readonly AuthorId[];
}

/** What a listener made of a capture. Close it when done. */
export interface PassiveListener {
  /** Its air codec: its stats count every frame decoded or dropped (and why). */
  readonly codec: AirCodec;
  /** Its sync node: its stats count the messages received and dropped. */
  readonly node: SyncNode;
  /** Its store: the events and records decoded from the capture. */
  readonly store: SqliteStore;
  /** The distinct sync messages the codec recovered, in the order first heard. */
  readonly messages: readonly Uint8Array[];
  /** Everything it decoded, as bytes to search: its database, every event it holds re-encoded, its record view. */
  decoded(): Uint8Array[];
  close(): void;
}

/** Feeds `packets` (as tapped from the medium, in order) through a listener built with `o`. */
export function listenToCapture(packets: readonly TappedPacket[], o: ListenerOptions): PassiveListener {
  let heardAt = packets[0]?.atMs ?? 0;
  const now = (): number => heardAt;
  const store = openStore({ path: ":memory:", now, durability: "normal", verifyPool: null });
  for (const m of o.members) store.addMember(m);
  const node = new SyncNode({ store, now, wallNow: now, random: NO_JITTER });
  const codec = createAirCodec({
    networkId: o.networkId, stationId: LISTENER_ID, networkKey: o.networkKey, requireSealed: false, clock: { now },
    random: NO_JITTER, randomBytes: (n) => new Uint8Array(n),
  });
  const messages = new Map<string, Uint8Array>();
  for (const p of packets) {
    heardAt = Math.max(heardAt, p.atMs + p.airtimeMs); // a packet is heard when its last symbol is
    // Frames of up to 254 bytes (every codec's default mtu) travel as one packet behind the RNode's header byte.
    const r = codec.receive(p.bytes.subarray(RNODE_HEADER_BYTES));
    if (r.kind !== "message") continue;
    const key = Buffer.from(r.message).toString("hex");
    if (!messages.has(key)) messages.set(key, r.message);
    node.receive(r.message);
  }
  return { codec, node, store, messages: [...messages.values()], decoded: () => decodedBytes(store), close: () => store.close() };
}

function decodedBytes(store: SqliteStore): Uint8Array[] {
  const events = store.members().flatMap(({ author }) => store.readEvents(author, 1, store.headSeq(author)).map(encodeSignedEvent));
  return [store.db.serialize(), store.viewBytes(), ...events];
}
