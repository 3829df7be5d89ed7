import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuthorId } from "../src/engine/ids.js";
import { OFFSET, STATION_ID_BYTES } from "../src/radio/air/constants.js";
import { createHeardStations, MAX_HEARD_STATIONS } from "../src/radio/heard-stations.js";

/** A frame whose sender field is `id` (4 bytes), the rest zero. */
function frameFrom(id: number): { bytes: Uint8Array } {
  const bytes = new Uint8Array(OFFSET.sender + STATION_ID_BYTES + 4);
  new DataView(bytes.buffer).setUint32(OFFSET.sender, id);
  return { bytes };
}

describe("stations heard", () => {
  const members = new Map<number, string>([[1, "base-camp"], [2, "team-north"]]);
  const make = () => {
    let t = 0;
    const heard = createHeardStations({
      clock: { now: () => ++t },
      frontier: () => new Map(),
      authorByShort: (short) => {
        const id = Buffer.from(short).readUInt32BE(0);
        return members.has(id) ? (String(id) as AuthorId) : undefined;
      },
      names: (author) => members.get(Number(author)),
    });
    return heard;
  };

  it("keeps at most MAX_HEARD_STATIONS, dropping strangers before members", () => {
    const heard = make();
    heard.from(frameFrom(1));
    heard.from(frameFrom(2));
    for (let i = 1000; i < 1000 + 5 * MAX_HEARD_STATIONS; i++) heard.from(frameFrom(i));
    const list = heard.list();
    assert.equal(list.length, MAX_HEARD_STATIONS);
    assert.deepEqual(list.filter((h) => h.name).map((h) => h.name).sort(), ["base-camp", "team-north"]);
  });

  it("a station heard again is kept over strangers heard less recently", () => {
    const heard = make();
    for (let i = 1000; i < 1000 + MAX_HEARD_STATIONS; i++) heard.from(frameFrom(i));
    heard.from(frameFrom(1000)); // heard again: now the newest
    heard.from(frameFrom(5000)); // the table is full: the oldest stranger (1001) goes
    const ids = heard.list().map((h) => h.station);
    assert.ok(ids.includes(Buffer.from([0, 0, 0x03, 0xe8]).toString("hex")), "1000 was kept");
    assert.equal(ids.includes(Buffer.from([0, 0, 0x03, 0xe9]).toString("hex")), false, "1001 was dropped");
    assert.equal(heard.list().find((h) => h.station === "000003e8")?.frames, 2);
  });
});
