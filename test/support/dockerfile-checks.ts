/**
 * Checks on the Dockerfile and .dockerignore, each returning the problems it
 * finds as sentences (an empty list when the image is built as deployment
 * needs).
 */
import * as c from "./deploy-contract.js";
import { type Instruction, type Stage, execForm, isDockerIgnored, parseCopy, parseDockerfile, parseEnv } from "./dockerfile-parse.js";

/** Same Node major and Debian release in every stage, so the addons built in one load in the other. */
const BASE_IMAGE = /^node:20(\.\d+){0,2}-bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/;
/** Packages that make an image a build environment. */
const COMPILERS = /(?<![\w.+-])(g\+\+|gcc|make|python3|build-essential|clang)(?![\w.+-])/;
/** What .dockerignore must keep out of the build context (secrets, host builds, generated and test files). */
const MUST_IGNORE = ["node_modules", "dist", ".git", "data", "meshlogd.env", "meshlogd.yml", "x.sqlite", "keys/site.key", "test/fixtures/a.json", "bench"];

const runs = (stage: Stage): string[] => stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
const last = (stage: Stage, keyword: string): Instruction | undefined => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
const copies = (stage: Stage) => stage.instructions.flatMap((i, at) => (i.keyword === "COPY" || i.keyword === "ADD" ? [{ at, ...parseCopy(i.args) }] : []));
const runAt = (stage: Stage, pattern: RegExp): number => stage.instructions.findIndex((i) => i.keyword === "RUN" && pattern.test(i.args));

function installs(stage: Stage, pkg: string): boolean {
  return runs(stage).some((r) => /apt-get\s+install/.test(r) && r.split(/\s+/).includes(pkg));
}

function buildStageProblems(build: Stage): string[] {
  const out: string[] = [];
  for (const pkg of ["python3", "make", "g++"]) if (!installs(build, pkg)) out.push(`build stage: must apt-get install ${pkg} for node-gyp`);
  const ci = runAt(build, /\bnpm ci\b/);
  const compile = runAt(build, /\bnpm run build\b/);
  const prune = runAt(build, /\bnpm prune\b.*--omit=dev|\bnpm prune\b.*--production/);
  if (compile < 0) out.push("build stage: must run npm run build");
  if (prune < compile) out.push("build stage: must npm prune --omit=dev after the build");
  const copied = copies(build);
  const manifest = copied.filter((k) => k.from === undefined && k.at < ci).flatMap((k) => k.sources);
  const early = manifest.filter((s) => s !== "package.json" && s !== "package-lock.json");
  if (!manifest.includes("package.json") || !manifest.includes("package-lock.json")) out.push("build stage: must COPY package.json and package-lock.json before npm ci");
  if (early.length > 0) out.push(`build stage: only the manifest may be copied before npm ci, or every source edit re-runs the install (got ${early.join(", ")})`);
  if (!copied.some((k) => k.at < compile && k.sources.includes("src"))) out.push("build stage: must COPY src before npm run build");
  return out;
}

function userProblems(final: Stage): string[] {
  const user = (last(final, "USER")?.args ?? "").split(":")[0] ?? "";
  if (user === "" || user === "root" || user === "0") return ["final stage: must switch to a USER that is not root"];
  const out: string[] = [];
  const joined = runs(final).join("\n");
  const inGroup = new RegExp(`usermod\\s+(-a\\s+-G|-aG|-G)\\s+(\\S*,)?${c.SERIAL_GROUP}\\b\\S*\\s+${user}\\b|adduser\\s+${user}\\s+${c.SERIAL_GROUP}\\b|gpasswd\\s+-a\\s+${user}\\s+${c.SERIAL_GROUP}\\b`);
  if (!inGroup.test(joined)) out.push(`final stage: ${user} must be added to ${c.SERIAL_GROUP} to open the RNode`);
  const ownsData = runs(final).some((r) => r.includes(c.DATA_DIR) && (new RegExp(`chown\\s+(-R\\s+)?${user}\\b`).test(r) || new RegExp(`install\\s.*-o\\s+${user}\\b`).test(r)));
  if (!ownsData) out.push(`final stage: ${c.DATA_DIR} must be created owned by ${user}`);
  return out;
}

function finalStageProblems(final: Stage, buildRefs: readonly string[]): string[] {
  const out: string[] = [];
  if (runs(final).some((r) => /apt-get\s+install/.test(r) && COMPILERS.test(r))) out.push("final stage: installs a compiler; build tools belong in the build stage");
  if (buildRefs.includes(final.image)) out.push("final stage: starts FROM the build stage, so it carries the compilers");
  const fromBuild = copies(final).filter((k) => k.from !== undefined && buildRefs.includes(k.from)).flatMap((k) => k.sources);
  if (!fromBuild.some((s) => s.endsWith("node_modules"))) out.push("final stage: must COPY node_modules from the build stage");
  if (!fromBuild.some((s) => /dist(\/src)?$/.test(s))) out.push("final stage: must COPY dist from the build stage");
  const env = new Map(final.instructions.filter((i) => i.keyword === "ENV").flatMap((i) => [...parseEnv(i.args)]));
  if (env.get("NODE_ENV") !== "production") out.push("final stage: must set ENV NODE_ENV=production");
  if (env.get("MESHLOGD_DATA_DIR") !== c.DATA_DIR) out.push(`final stage: must set ENV MESHLOGD_DATA_DIR=${c.DATA_DIR}`);
  const exposed = final.instructions.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
  if (!exposed.includes(String(c.HTTP_PORT)) && !exposed.includes(`${c.HTTP_PORT}/tcp`)) out.push(`final stage: must EXPOSE ${c.HTTP_PORT}`);
  const health = last(final, "HEALTHCHECK")?.args ?? "";
  if (!health.includes(c.HEALTH_PATH)) out.push(`final stage: HEALTHCHECK must ask ${c.HEALTH_PATH}`);
  const entry = execForm(last(final, "ENTRYPOINT")?.args ?? "");
  if (JSON.stringify(entry) !== JSON.stringify(["node", c.CLI_ENTRY])) out.push(`final stage: ENTRYPOINT must be ["node", "${c.CLI_ENTRY}"] so commands can be passed`);
  const cmd = execForm(last(final, "CMD")?.args ?? "");
  if (JSON.stringify(cmd) !== JSON.stringify(c.RUN_COMMAND)) out.push(`final stage: CMD must be ${JSON.stringify(c.RUN_COMMAND)}`);
  return out;
}

function contextProblems(stages: readonly Stage[], dockerignore: string, exists: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const k of stages.flatMap(copies).filter((x) => x.from === undefined)) {
    for (const source of k.sources) {
      if (!exists(source)) out.push(`COPY ${source}: does not exist in the repository`);
      else if (isDockerIgnored(dockerignore, source)) out.push(`COPY ${source}: .dockerignore leaves it out of the build context`);
    }
  }
  for (const path of MUST_IGNORE) if (!isDockerIgnored(dockerignore, path)) out.push(`.dockerignore: must leave out ${path}`);
  return out;
}

/** Every problem of the Dockerfile's `text` with this `.dockerignore`; `exists` says whether a repository path exists. */
export function dockerfileProblems(text: string, dockerignore: string, exists: (path: string) => boolean): string[] {
  const stages = parseDockerfile(text);
  if (stages.length < 2) return [`multi-stage: expected a build and a runtime stage, got ${stages.length} FROM`];
  const out: string[] = [];
  for (const s of stages) if (!BASE_IMAGE.test(s.image) && !stages.some((t) => t.name === s.image)) out.push(`FROM ${s.image}: every stage must be node:20 on bookworm`);
  const buildAt = stages.findIndex((s) => runAt(s, /\bnpm ci\b/) >= 0);
  const build = stages[buildAt];
  const final = stages.at(-1) as Stage;
  if (build === undefined || build === final) return [...out, "build stage: no stage before the last one runs npm ci"];
  const buildRefs = [build.name, String(buildAt)].filter((r): r is string => r !== undefined);
  return [...out, ...buildStageProblems(build), ...userProblems(final), ...finalStageProblems(final, buildRefs), ...contextProblems(stages, dockerignore, exists)];
}

/** The `node -e` script of the final stage's HEALTHCHECK, if it is one. */
export function dockerfileHealthScript(text: string): string | undefined {
  const health = parseDockerfile(text).at(-1)?.instructions.filter((i) => i.keyword === "HEALTHCHECK").at(-1)?.args ?? "";
  const cmd = execForm(health.replace(/^.*?\bCMD\s+/, ""));
  const e = cmd?.indexOf("-e") ?? -1;
  return cmd?.[0] === "node" && e > 0 ? cmd[e + 1] : undefined;
}
