/**
 * `meshlogd forms`: lists the forms on the local server and prints a mapping
 * for each, with its fields as comments, ready to paste under `mappings:`.
 * Needs only the `server:` part of the config.
 */
import { createKoboClient } from "../bridge/kobo-client.js";
import { koboSchemaFromAsset } from "../bridge/kobo-schema.js";
import { createOdkClient } from "../bridge/odk-client.js";
import { replicableNodes, type FormSchema } from "../bridge/form-schema.js";
import { describeError, type Result } from "../bridge/upstream.js";
import { loadServerConfig } from "../service/site-config.js";
import { configPath, parseArgs } from "./options.js";

/** A form on the server, and its replicable fields when they could be read. */
export interface ListedForm {
  readonly source: string;
  readonly title: string;
  readonly fields: readonly { path: string; type: string }[];
}

function fieldsOf(schema: FormSchema): { path: string; type: string }[] {
  return [...replicableNodes(schema).values()].map((n) => ({ path: n.path, type: n.kind === "repeat" ? "repeat" : n.type }));
}

const slug = (title: string): string => title.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40) || "records";

/** The YAML mapping of one form, fields listed as comments. */
export function mappingSkeleton(f: ListedForm): string {
  const lines = [`  - type: ${slug(f.title)}                # ${f.title}`, `    source: ${f.source}`, "    priority: 5", "    fields:", "      radio: {}                  # e.g. { hh/phone: never } keeps a field at this site"];
  if (f.fields.length > 0) {
    lines.push("      # fields of this form:");
    for (const x of f.fields) lines.push(`      #   ${x.path} (${x.type})`);
  }
  return lines.join("\n");
}

async function listKobo(server: { url: string; openrosa_url?: string | undefined; token: string }, timeoutMs: number): Promise<Result<ListedForm[]>> {
  const client = createKoboClient({ url: server.url, openrosaUrl: server.openrosa_url, token: server.token, timeoutMs });
  try {
    const assets = await client.listAssets();
    if (!assets.ok) return assets;
    const out: ListedForm[] = [];
    for (const a of assets.value.filter((x) => (x.asset_type ?? "survey") === "survey" && x.has_deployment !== false)) {
      const content = await client.getAsset(a.uid);
      const schema = content.ok ? koboSchemaFromAsset(content.value) : null;
      out.push({ source: `{ kobo: { asset: ${a.uid} } }`, title: a.name, fields: schema && "nodes" in schema ? fieldsOf(schema) : [] });
    }
    return { ok: true, value: out };
  } finally {
    await client.close();
  }
}

async function listOdk(server: { url: string; email: string; password: string }, timeoutMs: number): Promise<Result<ListedForm[]>> {
  const client = createOdkClient({ url: server.url, email: server.email, password: server.password, timeoutMs });
  try {
    const projects = await client.getProjects();
    if (!projects.ok) return projects;
    const out: ListedForm[] = [];
    for (const p of projects.value as { id: number; name: string }[]) {
      const forms = await client.getForms(p.id);
      if (!forms.ok) return forms;
      for (const f of forms.value as { xmlFormId: string; name: string | null }[]) {
        const fields = await client.getFields(p.id, f.xmlFormId, false);
        const list = fields.ok ? (fields.value as { path: string; type: string }[]).filter((x) => x.type !== "structure").map((x) => ({ path: x.path.replace(/^\//, ""), type: x.type })) : [];
        out.push({ source: `{ odk: { project: ${p.id}, form: ${f.xmlFormId} } }`, title: `${f.name ?? f.xmlFormId} (project ${p.name})`, fields: list });
      }
    }
    return { ok: true, value: out };
  } finally {
    await client.close();
  }
}

export async function formsCommand(args: readonly string[], out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): Promise<number> {
  const { options } = parseArgs(args, ["config"]);
  const { server, request_timeout_s } = loadServerConfig(configPath(options));
  const timeoutMs = request_timeout_s * 1000;
  const r = server.kind === "kobo" ? await listKobo(server, timeoutMs) : await listOdk(server, timeoutMs);
  if (!r.ok) {
    out(`meshlogd: cannot list the forms at ${server.url}: ${describeError(r.error)}`);
    return 1;
  }
  if (r.value.length === 0) {
    out(`no deployed forms at ${server.url}; deploy one first (or check that the account can see it)`);
    return 0;
  }
  out(`# ${r.value.length} form(s) at ${server.url}. Paste what you replicate under mappings: and give each the`);
  out("# same type name at every site (rename fields where forms differ: fields.rename).");
  out("mappings:");
  for (const f of r.value) out(mappingSkeleton(f));
  return 0;
}
