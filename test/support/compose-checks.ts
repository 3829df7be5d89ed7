/**
 * Checks on docker-compose.yml, each returning the problems it finds as
 * sentences (an empty list when the file does what deployment needs).
 */
import { parse } from "yaml";
import * as c from "./deploy-contract.js";

type Doc = Record<string, unknown>;

const isRecord = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const text = (v: unknown): string => (typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "");

/** A service's environment (map or `K=V` list) as pairs; `K` alone has value undefined. */
function envPairs(v: unknown): [string, string | undefined][] {
  if (isRecord(v)) return Object.entries(v).map(([k, x]) => [k, x === null ? undefined : text(x)]);
  return list(v).map((item) => {
    const s = text(item);
    const eq = s.indexOf("=");
    return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
  });
}

/** A volume entry, short (`src:dst[:ro]`) or long, as source/target/read-only. */
function mount(v: unknown): { type: string; source: string; target: string; readOnly: boolean } {
  if (isRecord(v)) {
    const source = text(v.source);
    const type = text(v.type) || (source.startsWith(".") || source.startsWith("/") ? "bind" : "volume");
    return { type, source, target: text(v.target), readOnly: v.read_only === true };
  }
  const [source = "", target = "", mode = ""] = text(v).split(":");
  const type = source.startsWith(".") || source.startsWith("/") ? "bind" : "volume";
  return { type, source, target, readOnly: mode.split(",").includes("ro") };
}

function buildProblems(svc: Doc, exists: (path: string) => boolean): string[] {
  const context = isRecord(svc.build) ? text(svc.build.context) : text(svc.build);
  const dockerfile = (isRecord(svc.build) ? text(svc.build.dockerfile) : "") || "Dockerfile";
  if (context !== "." && context !== "./") return [`build: the image must be built from this repository (context ".", got "${context}")`];
  return exists(dockerfile) ? [] : [`build: ${dockerfile} does not exist in the repository`];
}

function deviceProblems(svc: Doc): string[] {
  const devices = list(svc.devices).map(text);
  if (devices.length !== 1) return [`devices: expected the RNode alone, got ${devices.length} entries`];
  const raw = devices[0] ?? "";
  const [host = "", inside = ""] = raw.split(/:(?=\/)/);
  const out: string[] = [];
  if (c.interpolateDefaults(host) !== c.DEFAULT_RNODE_DEVICE) out.push(`devices: the host side must default to ${c.DEFAULT_RNODE_DEVICE} (got "${host}")`);
  if (!/\$\{RNODE_DEVICE\b/.test(host)) out.push("devices: the host side must be configurable with ${RNODE_DEVICE:-...}");
  if (!/^\/dev\/[\w.-]+$/.test(inside)) out.push(`devices: the path inside the container must be a fixed /dev path (got "${inside}")`);
  const groups = list(svc.group_add).map((g) => c.interpolateDefaults(text(g)));
  if (!groups.includes(c.SERIAL_GROUP) && !groups.includes("20")) out.push(`group_add: the container user must be in ${c.SERIAL_GROUP} to open the RNode`);
  return out;
}

function volumeProblems(svc: Doc, doc: Doc): string[] {
  const mounts = list(svc.volumes).map(mount);
  const out: string[] = [];
  const data = mounts.find((m) => m.target === c.DATA_DIR);
  if (data === undefined || data.type !== "volume") out.push(`volumes: a named volume must be mounted at ${c.DATA_DIR}`);
  else if (!isRecord(doc.volumes) || !(data.source in doc.volumes)) out.push(`volumes: the data volume "${data.source}" must be declared at top level`);
  const config = mounts.find((m) => m.target === c.CONFIG_PATH);
  if (config === undefined || config.source !== c.CONFIG_SOURCE) out.push(`volumes: ${c.CONFIG_SOURCE} must be mounted at ${c.CONFIG_PATH}`);
  else if (!config.readOnly) out.push(`volumes: the config at ${c.CONFIG_PATH} must be mounted read-only`);
  const dataEnv = envPairs(svc.environment).find(([k]) => k === "MESHLOGD_DATA_DIR");
  if (dataEnv !== undefined && dataEnv[1] !== c.DATA_DIR) out.push(`environment: MESHLOGD_DATA_DIR must be ${c.DATA_DIR}`);
  return out;
}

function secretProblems(svc: Doc): string[] {
  const out: string[] = [];
  const envFiles = list(svc.env_file).map((e) => (isRecord(e) ? text(e.path) : text(e)));
  if (!envFiles.some((f) => f.replace(/^\.\//, "") === c.ENV_FILE)) out.push(`env_file: the secrets must come from ${c.ENV_FILE}`);
  const args = isRecord(svc.build) ? envPairs(svc.build.args) : [];
  for (const [key, value] of [...envPairs(svc.environment), ...args]) {
    const named = (c.SECRET_NAMES as readonly string[]).includes(key) || c.SECRET_NAME.test(key);
    if (value === undefined || value === "") continue;
    if (named || c.SECRET_VALUE.test(value)) out.push(`environment: ${key} looks like a secret written inline; put it in ${c.ENV_FILE}`);
  }
  return out;
}

function healthProblems(svc: Doc): string[] {
  const hc = isRecord(svc.healthcheck) ? svc.healthcheck : undefined;
  if (hc === undefined || hc.disable === true) return ["healthcheck: missing"];
  const out: string[] = [];
  const test = list(hc.test).map(text);
  if (!test.join(" ").includes(c.HEALTH_PATH)) out.push(`healthcheck: the test must ask ${c.HEALTH_PATH}`);
  for (const key of ["interval", "timeout"]) {
    if (!(c.durationMs(text(hc[key])) > 0)) out.push(`healthcheck: ${key} must be a duration (got "${text(hc[key])}")`);
  }
  if (!(Number(hc.retries) >= 1)) out.push("healthcheck: retries must be at least 1");
  const scriptMs = c.scriptTimeoutMs(test.join(" "));
  if (scriptMs === undefined || !(scriptMs < c.durationMs(text(hc.timeout)))) {
    out.push("healthcheck: the script must give up (AbortSignal.timeout) before Docker's timeout");
  }
  return out;
}

function portProblems(svc: Doc): string[] {
  const ports = list(svc.ports);
  if (ports.length !== 1) return [`ports: expected one published port, got ${ports.length}`];
  const p = ports[0];
  const [hostIp, published, target] = isRecord(p)
    ? [text(p.host_ip), text(p.published), text(p.target)]
    : ((): string[] => {
        const parts = c.interpolateDefaults(text(p)).split(":");
        return parts.length === 3 ? parts : ["", parts[0] ?? "", parts[1] ?? ""];
      })();
  const out: string[] = [];
  if (c.interpolateDefaults(hostIp ?? "") !== c.PUBLISH_HOST) out.push(`ports: must be published on ${c.PUBLISH_HOST} only by default (got "${hostIp}")`);
  if (Number(target) !== c.HTTP_PORT || Number(c.interpolateDefaults(published ?? "")) !== c.HTTP_PORT) {
    out.push(`ports: expected ${c.PUBLISH_HOST}:${c.HTTP_PORT}:${c.HTTP_PORT}`);
  }
  return out;
}

function runProblems(svc: Doc): string[] {
  const out: string[] = [];
  if (svc.restart !== "unless-stopped") out.push(`restart: must be unless-stopped (got "${text(svc.restart)}")`);
  if (svc.command !== undefined && JSON.stringify(svc.command) !== JSON.stringify(c.RUN_COMMAND)) {
    out.push(`command: must be ${JSON.stringify(c.RUN_COMMAND)} (the config at ${c.CONFIG_PATH})`);
  }
  const hosts = isRecord(svc.extra_hosts)
    ? Object.entries(svc.extra_hosts).map(([k, v]) => `${k}:${text(v)}`)
    : list(svc.extra_hosts).map(text).map((h) => h.replace("=", ":"));
  if (!hosts.includes("host.docker.internal:host-gateway")) out.push("extra_hosts: host.docker.internal:host-gateway is missing");
  return out;
}

/** Every problem of docker-compose.yml's `yamlText`; `exists` says whether a repository path exists. */
export function composeProblems(yamlText: string, exists: (path: string) => boolean): string[] {
  const doc: unknown = parse(yamlText);
  if (!isRecord(doc) || !isRecord(doc.services)) return ["services: missing"];
  const svc = doc.services[c.SERVICE];
  if (!isRecord(svc)) return [`services: no service "${c.SERVICE}"`];
  return [
    ...buildProblems(svc, exists),
    ...deviceProblems(svc),
    ...volumeProblems(svc, doc),
    ...secretProblems(svc),
    ...healthProblems(svc),
    ...portProblems(svc),
    ...runProblems(svc),
  ];
}

/** The `node -e` script of the compose health check, if it is one. */
export function composeHealthScript(yamlText: string): string | undefined {
  const doc: unknown = parse(yamlText);
  const svc = isRecord(doc) && isRecord(doc.services) ? doc.services[c.SERVICE] : undefined;
  const test = isRecord(svc) && isRecord(svc.healthcheck) ? list(svc.healthcheck.test).map(text) : [];
  const e = test.indexOf("-e");
  return test[1] === "node" && e > 0 ? test[e + 1] : undefined;
}
