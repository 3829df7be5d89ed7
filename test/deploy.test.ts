/**
 * The deployment files (docker-compose.yml, Dockerfile, .dockerignore,
 * meshlogd.env.example) checked without a Docker engine: parsed, compared with
 * what the service expects, and broken one way at a time to prove each check
 * notices. The health-check command itself runs against local servers.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { composeHealthScript, composeProblems } from "./support/compose-checks.js";
import * as c from "./support/deploy-contract.js";
import { dockerfileHealthScript, dockerfileProblems } from "./support/dockerfile-checks.js";

const root = new URL("../../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");
const exists = (path: string): boolean => existsSync(new URL(path.replace(/^\.\//, ""), root));

const compose = read("docker-compose.yml");
const dockerfile = read("Dockerfile");
const dockerignore = read(".dockerignore");
const envExample = read("meshlogd.env.example");

/** A one-place edit of a file's text; the test fails if the edit no longer applies. */
function edit(source: string, from: string | RegExp, to: string): string {
  const out = source.replace(from, to);
  assert.notEqual(out, source, `the breakage "${String(from)}" no longer applies to the file; update the test`);
  return out;
}

/** Problems of the env example: every secret named with an empty value, no value filled in. */
function envExampleProblems(text: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l));
  const values = new Map(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]));
  const out = c.SECRET_NAMES.filter((n) => !values.has(n)).map((n) => `${c.ENV_FILE}.example: ${n}= is missing`);
  for (const [key, value] of values) if (value !== "") out.push(`${c.ENV_FILE}.example: ${key} has a value; the example must carry none`);
  return out;
}

/** A name, an edit that breaks one requirement of a file, and the problem the checks must then report. */
type Breakage = [string, (text: string) => string, RegExp];

/** One test per breakage: the checks of `source` broken that way report the expected problem. */
function itNotices(breakages: readonly Breakage[], source: string, problemsOf: (text: string) => string[]): void {
  for (const [name, breakIt, expected] of breakages) {
    it(`notices ${name}`, () => {
      const problems = problemsOf(breakIt(source));
      assert.ok(problems.some((p) => expected.test(p)), `expected a problem matching ${String(expected)}, got ${JSON.stringify(problems)}`);
    });
  }
}

describe("docker-compose.yml", () => {
  it("runs meshlogd as the site needs it", () => {
    assert.deepEqual(composeProblems(compose, exists), []);
  });

  const breakages: Breakage[] = [
    ["no meshlogd service", (t) => edit(t, /^ {2}meshlogd:$/m, "  other:"), /no service "meshlogd"/],
    ["a foreign build context", (t) => edit(t, "context: .", "context: ../elsewhere"), /build: .*context/],
    ["the RNode not passed through", (t) => edit(t, /^ {4}devices:\n.*\n.*\n/m, ""), /devices: expected the RNode/],
    ["another default device", (t) => edit(t, "RNODE_DEVICE:-/dev/ttyUSB0", "RNODE_DEVICE:-/dev/ttyACM0"), /default to \/dev\/ttyUSB0/],
    ["a hard-coded device", (t) => edit(t, "${RNODE_DEVICE:-/dev/ttyUSB0}", "/dev/ttyUSB0"), /configurable/],
    ["a device path that moves inside", (t) => edit(t, ":/dev/rnode", ":${RNODE_DEVICE:-/dev/ttyUSB0}"), /fixed \/dev path/],
    ["the user not in dialout", (t) => edit(t, "${RNODE_GROUP:-dialout}", "${RNODE_GROUP:-video}"), /group_add/],
    ["no data volume", (t) => edit(t, "- meshlogd-data:/var/lib/meshlogd", "- ./data:/var/lib/meshlogd"), /named volume/],
    ["an undeclared volume", (t) => edit(t, /^volumes:\n(.*\n)*?\s+meshlogd-data:\n/m, "volumes:\n  other:\n"), /declared at top level/],
    ["a writable config", (t) => edit(t, "read_only: true", "read_only: false"), /read-only/],
    ["no config mount", (t) => edit(t, "source: ./meshlogd.yml", "source: ./other.yml"), /must be mounted at/],
    ["no env file", (t) => edit(t, /^ {4}env_file:\n.*\n/m, ""), /env_file/],
    ["a token inline", (t) => edit(t, "MESHLOGD_DATA_DIR: /var/lib/meshlogd", "MESHLOGD_DATA_DIR: /var/lib/meshlogd\n      KOBO_TOKEN: 0123abcd"), /KOBO_TOKEN looks like a secret/],
    ["a key-like value inline", (t) => edit(t, "MESHLOGD_DATA_DIR: /var/lib/meshlogd", "MESHLOGD_DATA_DIR: /var/lib/meshlogd\n      SITE_SEAL: q7Xv0pLw3n9Kd2Rz8TgYb4Hs"), /SITE_SEAL looks like a secret/],
    ["no health check", (t) => edit(t, /^ {4}healthcheck:\n(.*\n){5}/m, ""), /healthcheck: missing/],
    ["a health check elsewhere", (t) => edit(t, /\/api\/health'/, "/'"), /must ask \/api\/health/],
    ["no check interval", (t) => edit(t, /^ {6}interval: .*\n/m, ""), /interval must be a duration/],
    ["no retries", (t) => edit(t, /^ {6}retries: .*\n/m, ""), /retries/],
    ["a script slower than Docker's timeout", (t) => edit(t, "timeout: 5s", "timeout: 3s"), /give up/],
    ["another restart policy", (t) => edit(t, "restart: unless-stopped", "restart: always"), /restart/],
    ["the port open to every address", (t) => edit(t, "MESHLOGD_PUBLISH:-127.0.0.1:8080", "MESHLOGD_PUBLISH:-8080"), /127\.0\.0\.1 only/],
    ["another command", (t) => edit(t, '"--config", "/etc/meshlogd/meshlogd.yml"', '"--config", "/tmp/x.yml"'), /command/],
    ["no host gateway", (t) => edit(t, /^ {4}extra_hosts:\n.*\n/m, ""), /extra_hosts/],
  ];
  itNotices(breakages, compose, (t) => composeProblems(t, exists));
});

describe("Dockerfile and .dockerignore", () => {
  it("build the image in two stages and run it unprivileged", () => {
    assert.deepEqual(dockerfileProblems(dockerfile, dockerignore, exists), []);
  });

  const breakages: Breakage[] = [
    ["a single stage", (t) => edit(t, /^FROM node:20-bookworm-slim AS runtime$/m, "").replace(/^COPY --from=build .*$/gm, ""), /multi-stage/],
    ["another base image", (t) => edit(t, "FROM node:20-bookworm-slim AS runtime", "FROM node:20-alpine AS runtime"), /node:20 on bookworm/],
    ["no g++", (t) => edit(t, "python3 make g++", "python3 make"), /install g\+\+/],
    ["no npm ci", (t) => edit(t, "RUN npm ci", "RUN npm install"), /runs npm ci/],
    ["sources copied before the install", (t) => edit(t, "COPY package.json package-lock.json ./", "COPY package.json package-lock.json ./\nCOPY src ./src"), /only the manifest/],
    ["no build", (t) => edit(t, "RUN npm run build", "RUN true"), /npm run build/],
    ["dev dependencies kept", (t) => edit(t, "npm prune --omit=dev", "npm ls"), /prune/],
    ["root at run time", (t) => edit(t, /^USER node$/m, "USER root"), /not root/],
    ["no USER", (t) => edit(t, /^USER node$/m, ""), /not root/],
    ["compilers in the runtime", (t) => edit(t, "RUN usermod", "RUN apt-get install -y g++ && usermod"), /compiler/],
    ["node_modules not copied", (t) => edit(t, /^COPY --from=build \/app\/node_modules .*$/m, ""), /node_modules/],
    ["dist not copied", (t) => edit(t, /^COPY --from=build \/app\/dist\/src .*$/m, ""), /COPY dist/],
    ["no HEALTHCHECK", (t) => edit(t, /^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, ""), /HEALTHCHECK/],
    ["no EXPOSE", (t) => edit(t, /^EXPOSE 8080$/m, "EXPOSE 80"), /EXPOSE 8080/],
    ["not production", (t) => edit(t, "NODE_ENV=production", "NODE_ENV=development"), /NODE_ENV/],
    ["not in dialout", (t) => edit(t, "usermod -a -G dialout node", "usermod -a -G video node"), /dialout/],
    ["a data dir it cannot write", (t) => edit(t, "-o node -g node ", ""), /owned by node/],
    ["an entry point that takes no command", (t) => edit(t, 'ENTRYPOINT ["node", "dist/src/cli/main.js"]', 'ENTRYPOINT ["node", "dist/src/cli/main.js", "run"]'), /ENTRYPOINT/],
    ["another default command", (t) => edit(t, 'CMD ["run", "--config", "/etc/meshlogd/meshlogd.yml"]', 'CMD ["demo"]'), /CMD/],
    ["a COPY of a missing path", (t) => edit(t, "COPY config ./config", "COPY configs ./config"), /COPY configs: does not exist/],
  ];
  itNotices(breakages, dockerfile, (t) => dockerfileProblems(t, dockerignore, exists));

  it("notices a .dockerignore that drops a copied path or lets a secret in", () => {
    const dropsConfig = dockerfileProblems(dockerfile, edit(dockerignore, /^!config$/m, ""), exists);
    assert.ok(dropsConfig.some((p) => /COPY config: \.dockerignore leaves it out/.test(p)), JSON.stringify(dropsConfig));
    const letsEnvIn = dockerfileProblems(dockerfile, `${dockerignore}\n!meshlogd.env\n`, exists);
    assert.ok(letsEnvIn.some((p) => /must leave out meshlogd\.env/.test(p)), JSON.stringify(letsEnvIn));
  });
});

describe("repository paths and the env example", () => {
  it("has every path the image and the compose file rely on", () => {
    assert.deepEqual(c.REQUIRED_PATHS.filter((p) => !exists(p)), []);
  });

  it("runs the package's own bin, which tsc emits from src/cli/main.ts", () => {
    const pkg = JSON.parse(read("package.json")) as { bin?: Record<string, string> };
    assert.equal(pkg.bin?.meshlogd, c.CLI_ENTRY);
    const ts = JSON.parse(read("tsconfig.json")) as { compilerOptions?: { outDir?: string; rootDir?: string } };
    assert.equal(`${ts.compilerOptions?.outDir}/src/cli/main.js`, c.CLI_ENTRY, "outDir dist with rootDir . puts src/cli/main.ts at dist/src/cli/main.js");
    assert.equal(ts.compilerOptions?.rootDir, ".");
  });

  it("names every secret in meshlogd.env.example and fills in none", () => {
    assert.deepEqual(envExampleProblems(envExample), []);
    assert.ok(envExampleProblems(edit(envExample, /^ODK_PASSWORD=$/m, "")).some((p) => p.includes("ODK_PASSWORD= is missing")));
    assert.ok(envExampleProblems(edit(envExample, /^KOBO_TOKEN=$/m, "KOBO_TOKEN=abc")).some((p) => p.includes("KOBO_TOKEN has a value")));
  });

  it("keeps a site's meshlogd.env out of git", () => {
    assert.ok(read(".gitignore").split(/\r?\n/).includes(c.ENV_FILE));
  });
});

/** Exit code of the health-check script run with MESHLOGD_HEALTH_URL=url. */
function runHealthScript(script: string, url: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { env: { ...process.env, MESHLOGD_HEALTH_URL: url }, stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
}

describe("the health-check command", () => {
  const script = composeHealthScript(compose) ?? "";
  let server: Server;
  let base = "";
  let closedPort = 0;
  before(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    server = createServer((req, res) => {
      if (req.url === "/hang") return; // never answers: the script's own timeout must end it
      res.writeHead(req.url === "/ok" ? 200 : 503, { "content-type": "application/json" }).end('{"ok":false}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("is the same node -e script in the image and in the compose file", () => {
    assert.ok(script.includes(c.HEALTH_PATH), "the compose health check is a node -e script that asks /api/health");
    assert.equal(dockerfileHealthScript(dockerfile), script);
  });

  it("exits 0 on 200 and 1 on 503, a closed port or a server that never answers", async () => {
    assert.equal(await runHealthScript(script, `${base}/ok`), 0);
    assert.equal(await runHealthScript(script, `${base}/sick`), 1);
    assert.equal(await runHealthScript(script, `http://127.0.0.1:${closedPort}/api/health`), 1);
    assert.equal(await runHealthScript(script, `${base}/hang`), 1);
  });
});
