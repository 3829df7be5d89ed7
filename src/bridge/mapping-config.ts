/**
 * The bridge's part of a site's YAML config, validated with zod: the local
 * form server and the record type ↔ form mappings. A mistake fails start-up
 * with a message that names the key, the bad value and the fix.
 */
import { z } from "zod";

/** What may go on air for a field: its value, a keyed hash of it (equality checks only), or nothing. */
export const RADIO_POLICIES = ["send", "hash", "never"] as const;
export type RadioPolicy = (typeof RADIO_POLICIES)[number];

/** Record type and shared field names: what every site's mapping must agree on. */
const sharedName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][-A-Za-z0-9_./]*$/, "use letters, digits, _ - . and / only, starting with a letter or _");

const fieldsSchema = z
  .object({
    /** Local field paths to replicate; all of the form's fields when absent. */
    include: z.array(z.string().min(1)).optional(),
    exclude: z.array(z.string().min(1)).default([]),
    /** Local path → shared name (the name other sites' mappings use). */
    rename: z.record(z.string().min(1), sharedName).default({}),
    /** Local path → radio policy; "send" when absent. */
    radio: z.record(z.string().min(1), z.enum(RADIO_POLICIES, { message: 'use "send", "hash" (a keyed hash only) or "never" (stays at this site)' })).default({}),
  })
  .strict();

/** Largest max_bytes: a file's bytes are held in memory and in one SQLite row, and must cross the radio in chunks. */
export const MAX_TRANSFER_BYTES = 16 * 1024 * 1024;

const maxBytesMessage = `set max_bytes to the largest file, in bytes, whose bytes travel (1 to ${MAX_TRANSFER_BYTES}); larger files travel as metadata only`;

/**
 * What replicates of a record's files: "none"; "metadata" (name, size,
 * SHA-256 and type: the other sites know the file exists, the bytes stay on
 * this server); "transfer" (metadata, and the bytes of files up to max_bytes).
 */
const attachmentsSchema = z.discriminatedUnion(
  "policy",
  [
    z.object({ policy: z.literal("none") }).strict(),
    z.object({ policy: z.literal("metadata") }).strict(),
    z.object({
      policy: z.literal("transfer"),
      max_bytes: z.number({ message: maxBytesMessage }).int(maxBytesMessage).positive(maxBytesMessage).max(MAX_TRANSFER_BYTES, maxBytesMessage),
    }).strict(),
  ],
  { message: 'use { policy: "none" }, { policy: "metadata" } (file metadata only) or { policy: "transfer", max_bytes: <bytes> } (also the bytes)' },
);

const sourceSchema = z.union(
  [
    z.object({ kobo: z.object({ asset: z.string().min(1) }).strict() }).strict(),
    z.object({ odk: z.object({ project: z.number().int().positive(), form: z.string().min(1) }).strict() }).strict(),
  ],
  { message: "name the form as { kobo: { asset: <asset uid> } } or { odk: { project: <project id>, form: <xmlFormId> } }" },
);

export const mappingSchema = z
  .object({
    type: sharedName,
    source: sourceSchema,
    fields: fieldsSchema.default({ exclude: [], rename: {}, radio: {} }),
    /** 0 (lowest) .. 9 (highest): what goes on air first when airtime is short. */
    priority: z.number({ message: "use a whole number from 0 (lowest) to 9 (highest)" }).int().min(0, "use 0 (lowest) to 9 (highest)").max(9, "use 0 (lowest) to 9 (highest)").default(5),
    attachments: attachmentsSchema.default({ policy: "none" }),
  })
  .strict();

export const koboServerSchema = z
  .object({
    kind: z.literal("kobo"),
    /** The kf host (v2 API), e.g. http://kf.kobo.local */
    url: z.url({ message: "use the full address of KoboToolbox's kf host, e.g. http://kf.kobo.local" }),
    /** The kc host for OpenRosa /submission; defaults to url. */
    openrosa_url: z.url({ message: "use the full address of KoboToolbox's kc host, e.g. http://kc.kobo.local" }).optional(),
    token: z.string().min(1, "set the bridge account's API token (KoboToolbox: account settings → API key, or GET /token/)"),
  })
  .strict();

export const odkServerSchema = z
  .object({
    kind: z.literal("odk"),
    url: z.url({ message: "use the full address of ODK Central, e.g. https://central.example.org" }),
    email: z.string().min(1, "set the email of the Central web user the bridge signs in as (project manager role)"),
    password: z.string().min(1, "set that user's password (preferably from an environment variable)"),
  })
  .strict();

export const bridgeConfigSchema = z
  .object({
    server: z.discriminatedUnion("kind", [koboServerSchema, odkServerSchema]),
    mappings: z.array(mappingSchema).min(1),
    /** Seconds between polls of the local server. */
    poll_interval_s: z.number().positive().default(60),
    /** Limit for every HTTP call to the local server. */
    request_timeout_s: z.number().positive().max(600).default(30),
    /** Secret shared by all sites, keying the hashes of "hash" fields (without it a short value is easy to guess). */
    hash_key: z.string().min(16).optional(),
  })
  .strict();

export type MappingConfig = z.infer<typeof mappingSchema>;
export type BridgeConfig = z.infer<typeof bridgeConfigSchema>;
export type ServerConfig = BridgeConfig["server"];

/** A config that does not validate; `problems` name each key, the bad value and the fix. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the configuration is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function keyPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out || "(top level)";
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Validates `raw` (parsed YAML) against `schema`; throws ConfigError naming every problem. */
export function parseConfig<T>(schema: z.ZodType<T>, raw: unknown, prefix = ""): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((issue) => {
    const where = keyPath(prefix, issue.path);
    const got = valueAt(raw, issue.path);
    const shown = got === undefined ? "nothing" : JSON.stringify(got);
    return `${where}: ${issue.message} (got ${shown && shown.length > 80 ? `${shown.slice(0, 80)}…` : shown})`;
  });
  throw new ConfigError(problems);
}

export function parseBridgeConfig(raw: unknown, prefix = ""): BridgeConfig {
  return parseConfig(bridgeConfigSchema, raw, prefix);
}

/** A stable key for a mapping's local form, used in the bridge's tables: "kobo:<asset>" or "odk:<project>:<form>". */
export function sourceKey(m: MappingConfig): string {
  return "kobo" in m.source ? `kobo:${m.source.kobo.asset}` : `odk:${m.source.odk.project}:${m.source.odk.form}`;
}
