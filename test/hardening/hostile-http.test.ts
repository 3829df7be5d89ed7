/**
 * Hostile input, HTTP: a few hundred hostile requests thrown at a running
 * API (createApi behind listenHttp, as `meshlogd run` starts it, on
 * 127.0.0.1) as raw bytes (support/hostile-requests.ts), then slow clients.
 * Every failure is answered in JSON with an error, nothing is answered 5xx,
 * nothing outside the admin page's folder is served, writes without the
 * right token change nothing, no prototype is polluted, and the server still
 * answers /api/health afterwards.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { ADMIN_DIR, createApi } from "../../src/http/api.js";
import { listenHttp, type HttpServer } from "../../src/http/server.js";
import { createJsonLogger } from "../../src/log/logger.js";
import { HTTP_TOKEN, startServiceSite, type ServiceSite } from "../support/service-site.js";
import { hostileRequests, request, TRAVERSALS, type HostileRequest } from "./support/hostile-requests.js";
import { ledgered } from "./support/ledgered.js";
import { sendRaw, type RawAnswer } from "./support/raw-http.js";

const SEED = Number(process.env.HTTP_FUZZ_SEED ?? 20261121);
/** Random method-and-path requests on top of the fixed attacks. */
const RANDOM_REQUESTS = 200;
/** Requests in flight at once. */
const PARALLEL = 8;
/** How long a client waits for an answer: far beyond any answer's time, so only a hang reaches it. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Short limits for slow clients, so the test sees them enforced (the service's defaults are 20 s and 60 s). */
const TIMEOUTS = { headersMs: 1_000, requestMs: 2_000, checkEveryMs: 200 };
const SLOW_CLIENTS = 20;
/** Strings that would show a file from outside the admin folder: package.json, /etc/passwd, a database, a key. */
const LEAKS = ['"devDependencies"', "root:x:0:0", "SQLite format 3", "PRIVATE KEY", "[core]\n"];

interface Outcome {
  readonly r: HostileRequest;
  readonly a: RawAnswer;
}

/** What breaks the API's promises in one answer, or undefined. */
function complaint({ r, a }: Outcome, adminFiles: readonly Buffer[]): string | undefined {
  const type = a.headers["content-type"] ?? "";
  if (!a.ended) return "no answer before the timeout";
  if (a.status === 0) return "the connection closed without an answer";
  if (a.status >= 500) return `answered ${a.status}: ${a.body.toString().slice(0, 200)}`;
  if (a.status >= 300 && a.status < 400) return `a redirect to ${a.headers.location}`;
  for (const leak of LEAKS) if (a.body.includes(leak)) return `the answer holds ${JSON.stringify(leak)}`;
  if (a.status >= 400) {
    if (!/^application\/json/.test(type)) return `a ${a.status} answered as ${type || "no type"}`;
    if (r.head) return undefined;
    const body = JSON.parse(a.body.toString()) as { error?: unknown };
    return typeof body.error === "string" && body.error.length > 0 ? undefined : `a ${a.status} without an error message`;
  }
  if (!/^application\/json/.test(type) && !r.head && !adminFiles.some((f) => f.equals(a.body))) return `served ${a.body.length} bytes of ${type} that are not an admin file`;
  return undefined;
}

async function throwAll(port: number, requests: readonly HostileRequest[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const queue = [...requests];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) out.push({ r, a: await sendRaw(port, r, ANSWER_TIMEOUT_MS) });
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

function byStatus(outcomes: readonly Outcome[]): string {
  const counts = new Map<number, number>();
  for (const o of outcomes) counts.set(o.a.status, (counts.get(o.a.status) ?? 0) + 1);
  return [...counts].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s}×${n}`).join(" ");
}

describe("hardening: hostile HTTP requests", () => {
  let s: ServiceSite;
  let http: HttpServer;
  let adminFiles: Buffer[];
  const errors: string[] = [];
  const requests = hostileRequests({ seed: SEED, token: HTTP_TOKEN, random: RANDOM_REQUESTS });
  const state = () => JSON.stringify({
    events: s.site.store.eventCount(), digest: s.site.store.digest().toString("hex"), rounds: s.site.rounds().count,
    outbox: s.site.bridge.status().outbox, view: s.site.store.viewBytes().toString("base64"),
  });

  before(async () => {
    s = await startServiceSite();
    s.submit("north", "Amina");
    await s.site.pollNow();
    // Every unexpected failure is logged at error level by the API's one error handler: collect them.
    const log = createJsonLogger("error", (line) => errors.push(line));
    http = await listenHttp(createApi({ site: s.site, log, token: HTTP_TOKEN }), s.config.http.bind, 0, TIMEOUTS);
    adminFiles = readdirSync(ADMIN_DIR).map((f) => readFileSync(join(ADMIN_DIR, f)));
  });
  after(async () => {
    await http?.close();
    await s?.close();
  });

  it("listens on 127.0.0.1 by default, and nowhere else", () => ledgered({
    area: "hostile input", tried: "the API started from a config without http.bind; connections to the machine's other addresses",
  }, async () => {
    assert.equal(s.config.http.bind, "127.0.0.1");
    assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const others = Object.values(networkInterfaces()).flat().filter((i) => i && !i.internal && i.family === "IPv4").map((i) => i?.address as string);
    for (const address of others) {
      const refused = await new Promise<boolean>((resolve) => {
        const c = connect(http.port, address);
        c.on("connect", () => (c.destroy(), resolve(false)));
        c.on("error", () => resolve(true));
      });
      assert.ok(refused, `the API answered on ${address}`);
    }
    return `bound to 127.0.0.1; refused on the machine's ${others.length} other address(es)`;
  }));

  it(`answers ${requests.filter((r) => !r.authorized).length} hostile requests without the right token in JSON, never 5xx, serves nothing outside the admin folder, changes nothing`, () => ledgered({
    area: "hostile input", tried: `${requests.filter((r) => !r.authorized).length} raw hostile requests without the right token (random methods and paths, ${TRAVERSALS.length} path tricks in GET and HEAD, huge headers and queries, smuggling, wrong content types and tokens, prototype keys, bodies over the limits, not HTTP at all)`,
  }, async () => {
    const before = state();
    const outcomes = await throwAll(http.port, requests.filter((r) => !r.authorized));
    const bad = outcomes.flatMap((o) => {
      const c = complaint(o, adminFiles);
      return c ? [`${o.r.name}: ${c}`] : [];
    });
    assert.deepEqual(bad, []);
    assert.equal(state(), before, "a request without the right token changed the site's state");
    assert.deepEqual(errors, [], "the API logged unexpected failures");
    return `every one answered (${byStatus(outcomes)}), failures all JSON with an error; no 5xx; nothing but admin files served; state unchanged`;
  }));

  it("answers hostile writes with the right token in JSON, never 5xx, and pollutes no prototype", () => ledgered({
    area: "hostile input", tried: `${requests.filter((r) => r.authorized).length} writes with the right token and hostile bodies (prototype keys, wrong types, 5000-deep JSON, 1 MB chunked, noise as a bundle, a 2 GB declared bundle)`,
  }, async () => {
    const outcomes = await throwAll(http.port, requests.filter((r) => r.authorized));
    const bad = outcomes.flatMap((o) => {
      const c = complaint(o, adminFiles);
      return c ? [`${o.r.name}: ${c}`] : [];
    });
    assert.deepEqual(bad, []);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
    assert.deepEqual(errors, [], "the API logged unexpected failures");
    return `every one answered (${byStatus(outcomes)}); no 5xx; no prototype polluted`;
  }));

  it(`cuts off ${SLOW_CLIENTS} slow clients with a JSON 408 while answering others`, () => ledgered({
    area: "hostile input", tried: `${SLOW_CLIENTS} slowloris clients (headers a byte every 150 ms; bodies likewise), with the limits at ${TIMEOUTS.headersMs} ms for headers and ${TIMEOUTS.requestMs} ms for a request`,
  }, async () => {
    const head = request("GET", "/api/status", [["X-Slow", "a".repeat(200)]]);
    const body = request("POST", "/api/poll", [["Authorization", `Bearer ${HTTP_TOKEN}`], ["Content-Type", "application/json"], ["Content-Length", "400"]]);
    const slow = Array.from({ length: SLOW_CLIENTS }, (_, i) => {
      const pieces = i % 2 === 0 ? [...head.subarray(0, head.length - 2)].map((b) => Buffer.of(b)) : [body, ...Array.from({ length: 200 }, () => Buffer.from(" "))];
      return sendRaw(http.port, { bytes: pieces, pauseMs: 150 }, 60_000);
    });
    let slowEnded = 0;
    const answered = Promise.all(slow.map((p) => p.then((a) => (slowEnded++, a))));
    const health = await sendRaw(http.port, { bytes: request("GET", "/api/health") }, ANSWER_TIMEOUT_MS);
    const stillHanging = SLOW_CLIENTS - slowEnded;
    const answers = await answered;
    assert.equal(health.status, 200);
    assert.equal(stillHanging, SLOW_CLIENTS, "the API answered while every slow client held its connection");
    for (const a of answers) {
      assert.ok(a.ended, "a slow client was never cut off");
      assert.equal(a.status, 408, `a slow client got ${a.status}: ${a.body.toString().slice(0, 100)}`);
      assert.match(a.headers["content-type"] ?? "", /^application\/json/);
    }
    return `health answered while they hung on; all ${SLOW_CLIENTS} cut off with a JSON 408`;
  }));

  it("still answers /api/health after everything", async () => {
    const a = await sendRaw(http.port, { bytes: request("GET", "/api/health") }, ANSWER_TIMEOUT_MS);
    assert.equal(a.status, 200);
    assert.equal((JSON.parse(a.body.toString()) as { ok: boolean }).ok, true);
  });
});
