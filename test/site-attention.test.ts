/**
 * The banner's lines about the form server: each problem the bridge reports
 * per form (poll, write, attachments) becomes one line naming the form.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serverProblems, type Site } from "../src/service/site.js";

const FORM = 'KoboToolbox asset aPhotos ("Photos") at http://kf.local';

function siteWith(form: Record<string, unknown>): Site {
  const status = {
    forms: [{ describe: FORM, lastPollError: null, lastWriteError: null, files: { events: 0, metadataOnly: 0, checksOpen: 0, awaitingBytes: 0, lastError: null }, ...form }],
  };
  return {
    server: () => ({ state: "ok", error: null }),
    problems: () => ({ round: null, storage: null }),
    bridge: { status: () => status },
  } as unknown as Site;
}

describe("site attention lines", () => {
  it("says nothing when every form is well", () => {
    assert.deepEqual(serverProblems(siteWith({})), []);
  });

  it("names the form whose attachments cannot be read, and says they are retried", () => {
    const files = { events: 2, metadataOnly: 0, checksOpen: 1, awaitingBytes: 0, lastError: "GET …/attachments/3/: 500" };
    const lines = serverProblems(siteWith({ files }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^Reading attachments from KoboToolbox asset aPhotos .* fails \(retried on later polls\): GET …\/attachments\/3\/: 500$/);
  });

  it("keeps poll and write failures apart", () => {
    const lines = serverProblems(siteWith({ lastPollError: "timeout", lastWriteError: "HTTP 500" }));
    assert.deepEqual(lines, [`Polling ${FORM} fails: timeout`, `Writing to ${FORM} fails: HTTP 500`]);
  });
});
