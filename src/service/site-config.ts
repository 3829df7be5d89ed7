/**
 * A site's whole YAML configuration, validated with zod at start-up: who the
 * site is, the network it belongs to, its radio links, the local form server
 * and its mappings (the bridge's part, mapping-config.ts), the HTTP API and
 * the logs. `${NAME}` anywhere in a string value is taken from the
 * environment, so secrets stay out of the file. A mistake fails start-up with
 * a message that names the key, the bad value and the fix.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { validate as validateCron } from "node-cron";
import { parseDocument } from "yaml";
import { z } from "zod";
import { DEFAULT_MAX_FORWARD_SKEW_MS } from "../engine/hlc.js";
import { parseAuthorId } from "../engine/ids.js";
import {
  ConfigError, koboServerSchema, mappingSchema, odkServerSchema, parseConfig, type BridgeConfig,
} from "../bridge/mapping-config.js";
import { DUTY_CYCLE_PRESETS } from "../radio/duty-cycle.js";
import { CR_RANGE, FREQUENCY_RANGE, SF_RANGE, SUB_GHZ_BANDWIDTHS, SX1280_BANDWIDTHS, TX_POWER_RANGE } from "../radio/rnode/settings.js";
import { expandEnv } from "./env-expand.js";

/** Where a site keeps its database and identity unless the config says otherwise. */
export const DEFAULT_DATA_DIR = "./data";
/** The admin page and API port (8080 is what the compose file publishes). */
export const DEFAULT_HTTP_PORT = 8080;
/** Poll the local server every minute: fresh enough for field data, light on a small server. */
export const DEFAULT_POLL_SCHEDULE = "* * * * *";

/** The bound on adopting stamps ahead of this machine's clock, in hours (DEFAULT_MAX_FORWARD_SKEW_MS: a day). */
export const DEFAULT_MAX_FORWARD_SKEW_H = DEFAULT_MAX_FORWARD_SKEW_MS / 3_600_000;
/** A year: a larger bound no longer catches a machine whose date is wrong by a year. */
const MAX_FORWARD_SKEW_H = 24 * 366;

/** A YAML key with only comments under it reads as null: take it as an empty list. */
const list = <T extends z.ZodType>(item: T) => z.preprocess((v) => (v === null ? [] : v), z.array(item));

const REGIONS = DUTY_CYCLE_PRESETS.map((p) => p.name);
/** The presets that hold to a band (every one but "none"): an RNode link's channel must lie inside it. */
const BANDED_REGIONS = DUTY_CYCLE_PRESETS.filter((p) => p.bandHz).map((p) => p.name);
const BANDWIDTHS: readonly number[] = [...SUB_GHZ_BANDWIDTHS, ...SX1280_BANDWIDTHS];

const name = z.string().min(1).max(64).regex(/^[A-Za-z0-9][-A-Za-z0-9_. ]*$/, "use letters, digits, spaces, - _ and . (e.g. maiduguri-base)");

const memberSchema = z
  .object({
    name,
    key: z.string().refine((k) => parseAuthorId(k) !== undefined, "use the 64 hex characters `meshlogd init` printed at that site (its public key)"),
  })
  .strict();

/** One message for every way a frequency can be wrong (868.1 in MHz, 868 without the decimals, a typo). */
const HZ = "use the centre frequency in Hz, e.g. 868100000";

const rnodeLinkSchema = z
  .object({
    kind: z.literal("rnode"),
    port: z.string().min(1, "use the RNode's serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/usb-…"),
    frequency: z
      .number({ message: HZ })
      .int(HZ)
      .min(FREQUENCY_RANGE.min, HZ)
      .max(FREQUENCY_RANGE.max, HZ),
    bandwidth: z.number().refine((b) => BANDWIDTHS.includes(b), `use one of ${BANDWIDTHS.join(", ")} (Hz)`).default(125_000),
    spreading_factor: z.number().int().min(SF_RANGE.min).max(SF_RANGE.max, `use ${SF_RANGE.min}..${SF_RANGE.max}`).default(9),
    coding_rate: z.number().int().min(CR_RANGE.min).max(CR_RANGE.max, `use ${CR_RANGE.min} (4/5) .. ${CR_RANGE.max} (4/8)`).default(5),
    tx_power: z.number().int().min(TX_POWER_RANGE.min).max(TX_POWER_RANGE.max, "use the power in dBm your licence and board allow (e.g. 14)").default(14),
    /** A regulatory preset; sets the duty cycle unless `duty_cycle` is given. */
    region: z.enum(REGIONS as [string, ...string[]], { message: `use one of ${REGIONS.join(", ")}` }).default(REGIONS[0] as string),
    /** Share of any rolling hour this station may transmit, 0 < x ≤ 1. */
    duty_cycle: z.number().gt(0).max(1, "use a share of the hour, e.g. 0.01 for 1 %").optional(),
  })
  .strict();

const endpoint = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, "use host:port, e.g. 192.168.1.20:4242");

const udpLinkSchema = z
  .object({
    kind: z.literal("udp"),
    /** Where to listen, host:port. */
    bind: endpoint,
    /** Where frames go; each also the only senders accepted unless `open`. */
    peers: z.array(endpoint).min(1, "list at least one peer host:port"),
    broadcast: z.boolean().default(false),
    open: z.boolean().default(false),
  })
  .strict();

const linkSchema = z.discriminatedUnion("kind", [rnodeLinkSchema, udpLinkSchema], {
  message: 'each link needs kind: rnode (a LoRa radio on a serial port) or kind: udp (sites on a LAN)',
});

const cron = z.string().refine((s) => validateCron(s), 'use a cron expression, e.g. "* * * * *" (every minute) or "*/20 * * * * *" (every 20 s)');

export const siteConfigSchema = z
  .object({
    site: z.object({ name }).strict(),
    /** Database and identity live here; relative paths are relative to the config file. */
    data_dir: z.string().min(1).default(DEFAULT_DATA_DIR),
    /** The identity's private key (PEM); `meshlogd init` writes it. Relative to data_dir. */
    identity: z.object({ key_file: z.string().min(1).default("identity.pem") }).strict().default({ key_file: "identity.pem" }),
    network: z
      .object({
        name: z.string().min(1).max(64),
        /** 32-byte key (64 hex or base64) shared by all sites: seals frames and bundles. Absent: frames go unsealed. */
        key: z.string().min(1).optional(),
        members: list(memberSchema).default([]),
      })
      .strict(),
    links: list(linkSchema).default([]),
    server: z.discriminatedUnion("kind", [koboServerSchema, odkServerSchema], { message: "set kind: kobo or kind: odk" }),
    mappings: z.preprocess((v) => (v === null ? [] : v), z.array(mappingSchema).min(1, "map at least one form (see `meshlogd forms`)")),
    schedule: z.object({ poll: cron.default(DEFAULT_POLL_SCHEDULE) }).strict().default({ poll: DEFAULT_POLL_SCHEDULE }),
    request_timeout_s: z.number().positive().max(600).default(30),
    /** Stamps from other sites more than max_forward_skew_h ahead of this machine's clock are applied but not followed, and counted. */
    clock: z
      .object({
        max_forward_skew_h: z
          .number({ message: "use a number of hours, e.g. 24 (a day)" })
          .min(1, "use at least 1 hour: clocks a little apart (NTP, GPS, a slow RTC) are no violation")
          .max(MAX_FORWARD_SKEW_H, `use at most ${MAX_FORWARD_SKEW_H} hours (a year); 24 catches a machine whose date is wrong`)
          .default(DEFAULT_MAX_FORWARD_SKEW_H),
      })
      .strict()
      .default({ max_forward_skew_h: DEFAULT_MAX_FORWARD_SKEW_H }),
    hash_key: z.string().min(16, "use at least 16 characters, the same at every site").optional(),
    http: z
      .object({
        bind: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(DEFAULT_HTTP_PORT),
        /** Required by write endpoints (poll, retry, import). */
        token: z.string().min(16, "use a long random token, e.g. from `openssl rand -hex 24`").optional(),
      })
      .strict()
      .default({ bind: "127.0.0.1", port: DEFAULT_HTTP_PORT }),
    log: z
      .object({
        level: z.enum(["debug", "info", "warn", "error"]).default("info"),
        /** json: one object a line; pretty: for people at a terminal; auto: pretty on a terminal. */
        format: z.enum(["auto", "json", "pretty"]).default("auto"),
      })
      .strict()
      .default({ level: "info", format: "auto" }),
  })
  .strict();

export type SiteConfig = z.infer<typeof siteConfigSchema>;
export type LinkConfig = SiteConfig["links"][number];
export type RNodeLinkConfig = z.infer<typeof rnodeLinkSchema>;
export type UdpLinkConfig = z.infer<typeof udpLinkSchema>;

/** The config's bound on forward clock skew, in ms (the store's maxForwardSkewMs). */
export function maxForwardSkewMsOf(config: SiteConfig): number {
  return config.clock.max_forward_skew_h * 3_600_000;
}

/** A loaded config with paths made absolute. */
export interface LoadedConfig {
  readonly config: SiteConfig;
  /** The file it came from (for messages). */
  readonly file: string;
  readonly dataDir: string;
  readonly identityFile: string;
}

/** Values never written to a log or an API answer. */
export function secretsOf(config: SiteConfig): string[] {
  const s = config.server;
  const out = [s.kind === "kobo" ? s.token : s.password, config.network.key, config.http.token, config.hash_key];
  return out.filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** The bridge's part of the config. */
export function bridgeConfigOf(config: SiteConfig): BridgeConfig {
  return {
    server: config.server,
    mappings: config.mappings,
    poll_interval_s: 60, // used only by bridge.start(); a site runs its rounds on the cron schedule instead
    request_timeout_s: config.request_timeout_s,
    ...(config.hash_key ? { hash_key: config.hash_key } : {}),
  };
}

/**
 * An RNode link whose channel (centre ± half the bandwidth) leaves its
 * region's band: what is wrong, the band, the centre frequencies that fit,
 * and the fix. Null when it fits, or when the region has no band ("none").
 */
function bandProblem(link: RNodeLinkConfig, key: string, regionGiven: boolean): string | null {
  const band = DUTY_CYCLE_PRESETS.find((p) => p.name === link.region)?.bandHz;
  if (!band) return null;
  const [from, to] = band;
  const low = from + link.bandwidth / 2;
  const high = to - link.bandwidth / 2;
  const rule = `${key}.region ${link.region}${regionGiven ? "" : " (the default)"} covers ${from}..${to} Hz`;
  const other = `or set ${key}.region to the rule of the band you use: ${BANDED_REGIONS.join(", ")}, or none with ${key}.duty_cycle where no preset applies (e.g. US 902-928 MHz)`;
  if (low > high) {
    return `${key}.bandwidth: a ${link.bandwidth / 1000} kHz channel is wider than the band: ${rule}. Use a bandwidth of at most ${(to - from) / 1000} kHz, ${other} (got ${link.bandwidth})`;
  }
  if (link.frequency >= low && link.frequency <= high) return null;
  const example = Math.round((from + to) / 2 / 1000) * 1000;
  return `${key}.frequency: ${link.frequency} Hz is outside its region: ${rule}, so a ${link.bandwidth / 1000} kHz channel needs its centre in ${low}..${high} Hz. ` +
    `Use the centre frequency in Hz within that range, e.g. ${example}, ${other} (got ${link.frequency})`;
}

/** Whether the raw (unparsed) config gave links[i].region itself, or left it to the default. */
function regionGiven(raw: unknown, i: number): boolean {
  const links = raw !== null && typeof raw === "object" ? (raw as { links?: unknown }).links : undefined;
  const link: unknown = Array.isArray(links) ? links[i] : undefined;
  return link !== null && typeof link === "object" && (link as { region?: unknown }).region !== undefined;
}

/** Validates a parsed YAML value (after `${VAR}` expansion) against the schema. */
export function parseSiteConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): SiteConfig {
  const expanded = expandEnv(raw, env);
  if (expanded.missing.length > 0) throw new ConfigError(expanded.missing);
  const config = parseConfig(siteConfigSchema, expanded.value);
  const problems: string[] = [];
  const keys = new Set<string>();
  config.network.members.forEach((m, i) => {
    if (keys.has(m.key.toLowerCase())) problems.push(`network.members[${i}].key: this key is listed twice; list each site once`);
    keys.add(m.key.toLowerCase());
  });
  config.links.forEach((l, i) => {
    const problem = l.kind === "rnode" ? bandProblem(l, `links[${i}]`, regionGiven(expanded.value, i)) : null;
    if (problem) problems.push(problem);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "there is no such file (create one with `meshlogd init`)" : code === "EACCES" ? "permission denied" : String(err);
    throw new ConfigError([`${path}: cannot read the config: ${why}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: not valid YAML: ${e.message.split("\n")[0]}`));
  }
  return doc.toJS();
}

/** Only the server part of a config (what `meshlogd forms` needs before any mapping exists). */
export function loadServerConfig(file: string, env: NodeJS.ProcessEnv = process.env): { server: SiteConfig["server"]; request_timeout_s: number } {
  const schema = siteConfigSchema.pick({ server: true, request_timeout_s: true });
  const raw = readYaml(resolve(file)) as Record<string, unknown> | null;
  const expanded = expandEnv({ server: raw?.server, request_timeout_s: raw?.request_timeout_s }, env);
  if (expanded.missing.length > 0) throw new ConfigError(expanded.missing);
  return parseConfig(schema, expanded.value);
}

/** Where the running site's API listens, from the config's http part (secrets elsewhere need not be set). */
export function loadHttpAddress(file: string, env: NodeJS.ProcessEnv = process.env): { url: string } {
  const schema = siteConfigSchema.pick({ http: true });
  const raw = readYaml(resolve(file)) as Record<string, unknown> | null;
  const http = (raw?.http ?? {}) as Record<string, unknown>;
  const expanded = expandEnv({ http: { bind: http.bind, port: http.port } }, env);
  if (expanded.missing.length > 0) throw new ConfigError(expanded.missing);
  const { bind, port } = parseConfig(schema, expanded.value).http;
  const host = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind.includes(":") ? `[${bind}]` : bind;
  return { url: `http://${host}:${port}/` };
}

/** Reads, parses and validates a config file; errors name the file, the key and the fix. */
export function loadSiteConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = resolve(file);
  const config = parseSiteConfig(readYaml(path), env);
  const base = dirname(path);
  const dataDir = resolve(base, env.MESHLOGD_DATA_DIR ?? config.data_dir);
  const identityFile = isAbsolute(config.identity.key_file) ? config.identity.key_file : resolve(dataDir, config.identity.key_file);
  return { config, file: path, dataDir, identityFile };
}
