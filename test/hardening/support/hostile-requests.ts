/**
 * Hostile HTTP requests for the site's API, as raw bytes, from a seeded
 * source so a failure replays: random methods and paths, path tricks
 * (dot-dot in every encoding, encoded slashes, NUL, backslashes, absolute
 * targets), huge headers and query strings, wrong content types, JSON with
 * wrong types and prototype keys, chunked and declared bodies over the
 * limits, request smuggling, missing and wrong tokens, and bytes that are
 * not HTTP at all. Each says whether it carries the right token (only those
 * may change the site's state).
 */
import { fuzzSource, type Fuzz } from "../../support/frame-mutations.js";
import type { RawRequest } from "./raw-http.js";

export interface HostileRequest extends RawRequest {
  readonly name: string;
  /** True only for requests with the right token: the rest must never change state. */
  readonly authorized: boolean;
}

type Headers = readonly (readonly [string, string])[];

const WRITES = ["/api/poll", "/api/outbox/retry", "/api/import"];
const READS = ["/", "/index.html", "/app.js", "/admin.css", "/favicon.svg", "/api", "/api/health", "/api/status", "/api/peers", "/api/sync", "/api/radio", "/api/mappings", "/api/records", "/api/events", "/api/conflicts", "/api/outbox", "/metrics"];
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "MKCOL", "SEARCH", "get", "FOO", "G\tET"];

/** Ways to climb out of the admin folder, each aimed at files a leak would show (package.json, /etc/passwd, the database). */
export const TRAVERSALS = [
  "/../package.json", "/../../package.json", "/..%2fpackage.json", "/..%2f..%2fpackage.json", "/%2e%2e/package.json", "/%2e%2e%2fpackage.json",
  "/%2E%2E/%2E%2E/package.json", "/.%2e/.%2e/package.json", "/%252e%252e/package.json", "/..%5c..%5cpackage.json", "/..\\..\\package.json",
  "/%c0%ae%c0%ae/package.json", "/%c0%af../package.json", "/..%c0%afpackage.json", "/....//....//package.json", "/..;/package.json",
  "/index.html/../../package.json", "/app.js%00.html", "/index.html%00", "/%00", "//etc/passwd", "/../../../../../../etc/passwd",
  "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/api/records/..%2F..%2F..%2Fetc%2Fpasswd", "/api/records/%2e%2e%2f%2e%2e%2fpackage.json",
  "/api/../../package.json", "/api/%2e%2e/%2e%2e/package.json", "/./././index.html", "/.env", "/.git/config", "/data/meshlogd.db",
  "/../data/meshlogd.db", "/identity.pem", "/../identity.pem", "/node_modules/express/package.json", "/../node_modules/.bin/tsc",
  "/api%2Frecords", "/api%2fhealth", "/%2fetc%2fpasswd", "http://evil.example/../../etc/passwd", "*", "/index.html/", "/app.js/..",
];

/** Bytes of one request; Host and Connection: close are added unless `bare`, Content-Length for a body unless chunked. */
export function request(method: string, target: string, headers: Headers = [], body?: string | Buffer, o: { bare?: boolean; chunked?: boolean } = {}): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (!o.bare) lines.push("Host: 127.0.0.1", "Connection: close");
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  const b = body === undefined ? undefined : Buffer.from(body);
  if (b && o.chunked) lines.push("Transfer-Encoding: chunked");
  else if (b) lines.push(`Content-Length: ${b.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  if (!b) return head;
  return Buffer.concat([head, o.chunked ? chunk(b, 4096) : b]);
}

function chunk(b: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < b.length; at += size) {
    const piece = b.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  return Buffer.concat([...parts, Buffer.from("0\r\n\r\n")]);
}

/** JSON bodies of the wrong shape: prototype keys, wrong types, deep nesting, huge numbers. */
function jsonBodies(f: Fuzz): string[] {
  return [
    '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"__proto__":[],"toString":1}',
    "[]", "[1,2,3]", "0", '"text"', "null", "true", "-1e999", "1e309", '{"limit":"all","state":["failed"]}', '{"a":' + "9".repeat(5000) + "}",
    "[".repeat(5000) + "]".repeat(5000), '{"a":"\\ud800"}', '{"a":1,"a":2}', "{}", `{"x":"${"y".repeat(f.int(15_000))}"}`,
  ];
}

const CONTENT_TYPES = ["application/json", "application/json; charset=utf-16", "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/octet-stream", "application/json\u0000", "", "*/*"];

function wrongAuth(f: Fuzz, token: string): string[] {
  return [
    "", "Bearer", "Bearer ", `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Bearer ${token.toUpperCase()}`, `Basic ${Buffer.from(`x:${token}`).toString("base64")}`,
    `Token ${token}`, `Bearer ${token.slice(1)}`, `Bearer\t${"a".repeat(token.length)}`, `Bearer ${Buffer.from(f.bytes(24)).toString("base64")}`, `${token}`,
    `Bearer ${token} ${token}`, `Bearer ${"\u00e9".repeat(8)}`,
  ];
}

function randomPath(f: Fuzz): string {
  const pick = f.int(4);
  if (pick === 0) return f.pick(READS);
  if (pick === 1) return f.pick(TRAVERSALS);
  if (pick === 2) return `/api/records/${encodeURIComponent(Buffer.from(f.bytes(1 + f.int(40))).toString("latin1"))}`;
  return `/${Array.from(f.bytes(1 + f.int(30)), (b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`;
}

function methodsAndPaths(f: Fuzz, n: number): HostileRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const method = f.pick(METHODS);
    const path = f.chance(0.2) ? f.pick(WRITES) : randomPath(f);
    const body = ["POST", "PUT", "PATCH"].includes(method) && f.chance(0.5) ? f.pick(jsonBodies(f)) : undefined;
    return { name: `random ${i}: ${method} ${path.slice(0, 60)}`, bytes: request(method, path, [["Content-Type", f.pick(CONTENT_TYPES)]], body), head: method === "HEAD", authorized: false };
  });
}

function headerAttacks(): HostileRequest[] {
  const big = (n: number) => "a".repeat(n);
  const cases: [string, Buffer][] = [
    ...[8_000, 15_000, 17_000, 64_000, 1_000_000].map((n): [string, Buffer] => [`a ${n}-byte header`, request("GET", "/api/health", [["X-Big", big(n)]])]),
    ["3000 headers", request("GET", "/api/status", Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, "1"] as const))],
    ["a header name with spaces", request("GET", "/api/health", [["X Bad Name", "1"]])],
    ["a CR inside a header value", request("GET", "/api/health", [["X-A", "1\rX-Injected: 2"]])],
    ["an obsolete folded header", request("GET", "/api/health", [["X-A", "1\r\n  folded"]])],
    ["two Content-Lengths", request("POST", "/api/poll", [["Content-Length", "5"], ["Content-Length", "7"]], undefined)],
    ["Content-Length and chunked (smuggling)", Buffer.concat([request("POST", "/api/poll", [["Content-Length", "6"], ["Transfer-Encoding", "chunked"]]), Buffer.from("0\r\n\r\nG")])],
    ["a bad chunk size", Buffer.concat([request("POST", "/api/poll", [["Transfer-Encoding", "chunked"], ["Content-Type", "application/json"]]), Buffer.from("zz\r\nabc\r\n0\r\n\r\n")])],
    ["a negative Content-Length", request("POST", "/api/poll", [["Content-Length", "-1"]])],
    ["a Content-Length of 2^64", request("POST", "/api/poll", [["Content-Length", "18446744073709551616"]])],
    ["Transfer-Encoding: gzip, chunked", Buffer.concat([request("POST", "/api/poll", [["Transfer-Encoding", "gzip, chunked"]]), Buffer.from("0\r\n\r\n")])],
    ["Expect: something else", request("POST", "/api/poll", [["Expect", "something-else"], ["Content-Length", "0"]])],
    ["no Host", request("GET", "/api/status", [["Connection", "close"]], undefined, { bare: true })],
    ["two Hosts", request("GET", "/api/status", [["Host", "evil.example"]])],
    ["a 10 KB cookie", request("GET", "/api/status", [["Cookie", `a=${big(10_000)}`]])],
    ["Accept-Encoding: *", request("GET", "/app.js", [["Accept-Encoding", "gzip, deflate, br, *;q=1000"]])],
    ["a Range past the end", request("GET", "/app.js", [["Range", "bytes=999999999-"]])],
    ["many Ranges", request("GET", "/app.js", [["Range", `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(",")}`]])],
    ["If-None-Match garbage", request("GET", "/index.html", [["If-None-Match", big(5000)]])],
  ];
  return cases.map(([name, bytes]) => ({ name: `headers: ${name}`, bytes, authorized: false }));
}

function queryAttacks(f: Fuzz): HostileRequest[] {
  const q = (n: number) => "x".repeat(n);
  const targets = [
    ...[1_000, 8_000, 15_000, 17_000, 100_000].flatMap((n) => [`/api/records?type=${q(n)}`, `/api/records?after=${q(n)}`, `/api/events?author=${q(n)}`]),
    `/api/records?${Array.from({ length: 1500 }, (_, i) => `limit=${i}`).join("&")}`, "/api/records?limit[]=1&limit[a]=2", "/api/records?__proto__=1&constructor=2",
    "/api/records?limit=1e3", "/api/records?limit=-5", "/api/records?limit=0x10", "/api/records?limit=99999999999999999999", "/api/records?limit=%00",
    "/api/records?type=%E0%A4%A", "/api/records?type=%ff%fe", "/api/outbox?state=__proto__", "/api/outbox?state=failed&state=written",
    "/api/events?author=%00%00", `/api/events?author=${"0".repeat(64)}`, `/api/events?author=${"g".repeat(64)}`, "/api/conflicts?limit=1&limit=2",
    `/api/records?${f.int(2) ? "type" : "after"}=${encodeURIComponent(Buffer.from(f.bytes(200)).toString("latin1"))}`, "/api/records?&&&==&=", "/api/records?a=%",
  ];
  return targets.map((t) => ({ name: `query: ${t.slice(0, 70)}`, bytes: request("GET", t), authorized: false }));
}

/** Writes without the right token: every body, content type and wrong Authorization. */
function unauthorizedWrites(f: Fuzz, token: string): HostileRequest[] {
  const out: HostileRequest[] = [];
  for (const auth of wrongAuth(f, token)) {
    for (const path of WRITES) {
      const headers: [string, string][] = auth ? [["Authorization", auth]] : [];
      const body = path === "/api/import" ? Buffer.from(f.bytes(f.int(3000))) : f.pick(jsonBodies(f));
      headers.push(["Content-Type", path === "/api/import" ? "application/octet-stream" : f.pick(CONTENT_TYPES)]);
      out.push({ name: `write ${path} with Authorization ${JSON.stringify(auth.slice(0, 30))}`, bytes: request("POST", path, headers, body, { chunked: f.chance(0.3) }), authorized: false });
    }
  }
  out.push({ name: "token in the query string", bytes: request("POST", `/api/poll?token=${token}`), authorized: false });
  out.push({ name: "token as a cookie", bytes: request("POST", "/api/poll", [["Cookie", `token=${token}`]]), authorized: false });
  out.push({ name: "a 2 GB bundle declared, no token", bytes: request("POST", "/api/import", [["Content-Type", "application/octet-stream"], ["Content-Length", "2000000000"]]), authorized: false });
  return out;
}

/** Writes with the right token and hostile bodies: they may poll, but must answer in JSON and never fail inside. */
function authorizedWrites(f: Fuzz, token: string): HostileRequest[] {
  const auth: [string, string] = ["Authorization", `Bearer ${token}`];
  const out: HostileRequest[] = [];
  for (const body of jsonBodies(f)) {
    out.push({ name: `poll with ${body.slice(0, 40)}`, bytes: request("POST", f.pick(["/api/poll", "/api/outbox/retry"]), [auth, ["Content-Type", f.pick(CONTENT_TYPES)]], body, { chunked: f.chance(0.5) }), authorized: true });
  }
  const over = Buffer.from(`{"x":"${"z".repeat(1_000_000)}"}`);
  out.push({ name: "a 1 MB chunked JSON body", bytes: request("POST", "/api/poll", [auth, ["Content-Type", "application/json"]], over, { chunked: true }), authorized: true });
  out.push({ name: "a 20 KB JSON body", bytes: request("POST", "/api/outbox/retry", [auth, ["Content-Type", "application/json"]], over.subarray(0, 20_000)), authorized: true });
  for (const type of ["application/octet-stream", "application/json", "text/plain", ""]) {
    out.push({ name: `import of noise as ${type || "no type"}`, bytes: request("POST", "/api/import", [auth, ["Content-Type", type]], Buffer.from(f.bytes(1 + f.int(200_000))), { chunked: f.chance(0.5) }), authorized: true });
  }
  out.push({ name: "a 2 GB bundle declared", bytes: request("POST", "/api/import", [auth, ["Content-Type", "application/octet-stream"], ["Content-Length", "2000000000"]]), authorized: true });
  out.push({ name: "import named with a path", bytes: request("POST", "/api/import?name=../../../etc/passwd", [auth, ["Content-Type", "application/octet-stream"]], Buffer.from("MLBUNDLE")), authorized: true });
  return out;
}

/** Bytes that are not an HTTP/1.1 request: noise, other protocols, CONNECT, HTTP/0.9. */
function notHttp(f: Fuzz): HostileRequest[] {
  const cases: [string, Buffer][] = [
    ...Array.from({ length: 10 }, (_, i): [string, Buffer] => [`noise ${i}`, Buffer.concat([Buffer.from(f.bytes(1 + f.int(500))), Buffer.from("\r\n\r\n")])]),
    ["the HTTP/2 preface", Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")],
    ["a TLS client hello", Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, ...f.bytes(32), 0x0d, 0x0a, 0x0d, 0x0a])],
    ["CONNECT", Buffer.from("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n")],
    ["HTTP/0.9", Buffer.from("GET /\r\n\r\n")],
    ["HTTP/3.0", Buffer.from(request("GET", "/api/health").toString("latin1").replace("HTTP/1.1", "HTTP/3.0"), "latin1")],
    ["a request line of spaces", Buffer.from(`${" ".repeat(100)}\r\n\r\n`)],
    ["an empty request", Buffer.from("\r\n\r\n")],
    ["an upgrade to websocket", request("GET", "/api/health", [["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="]])],
  ];
  return cases.map(([name, bytes]) => ({ name: `not HTTP/1.1: ${name}`, bytes, authorized: false }));
}

/** A few hundred hostile requests; `random` of them are random method and path pairs. */
export function hostileRequests(o: { seed: number; token: string; random: number }): HostileRequest[] {
  const f = fuzzSource(o.seed);
  const traversals = TRAVERSALS.flatMap((t) => [
    { name: `traversal GET ${t}`, bytes: request("GET", t), authorized: false },
    { name: `traversal HEAD ${t}`, bytes: request("HEAD", t), head: true, authorized: false },
  ]);
  return [
    ...methodsAndPaths(f, o.random), ...traversals, ...headerAttacks(), ...queryAttacks(f),
    ...unauthorizedWrites(f, o.token), ...authorizedWrites(f, o.token), ...notHttp(f),
  ];
}
