/**
 * Connects the configured mappings to the forms the local server really has:
 * reads each form's schema (Kobo asset content; Central form, /fields and
 * XForm), checks the mapping against it, and builds its LocalForm.
 */
import { createKoboClient } from "./kobo-client.js";
import { koboSchemaFromAsset } from "./kobo-schema.js";
import { createKoboForm } from "./kobo-form.js";
import type { LocalForm } from "./local-form.js";
import { crossCheckMappings, MappingError, resolveMapping, type ResolvedMapping } from "./mapping.js";
import type { BridgeConfig, MappingConfig } from "./mapping-config.js";
import { createOdkClient, type OdkClient } from "./odk-client.js";
import { odataNames, odkSchemaFromCentral } from "./odk-schema.js";
import { createOdkForm } from "./odk-form.js";
import type { FormSchema } from "./form-schema.js";
import { describeError, fail, ok, type Result } from "./upstream.js";

export interface OpenedForm {
  readonly mapping: ResolvedMapping;
  readonly form: LocalForm;
}

function isSchema(v: unknown): v is FormSchema {
  return typeof v === "object" && v !== null && "nodes" in v && "rootName" in v;
}

async function openOdkForm(client: OdkClient, m: MappingConfig & { source: { odk: { project: number; form: string } } }): Promise<Result<{ schema: FormSchema | string; names?: ReadonlyMap<string, string> }>> {
  const { project, form } = m.source.odk;
  const meta = await client.getForm(project, form);
  if (!meta.ok) return meta;
  const fields = await client.getFields(project, form, false);
  if (!fields.ok) return fields;
  const odataFields = await client.getFields(project, form, true);
  if (!odataFields.ok) return odataFields;
  const xml = await client.getFormXml(project, form);
  if (!xml.ok) return xml;
  const schema = odkSchemaFromCentral(meta.value, fields.value, odataFields.value, xml.value);
  if (!isSchema(schema)) return ok({ schema: schema.message });
  const names = odataNames(schema, odataFields.value);
  if (!(names instanceof Map)) return ok({ schema: names.message });
  return ok({ schema, names });
}

/**
 * Opens every mapped form. Resolves with a failure if the server cannot be
 * reached or refuses us (the caller retries); throws MappingError if a
 * mapping does not fit its form (the admin must fix the config).
 */
export async function openForms(config: BridgeConfig): Promise<Result<OpenedForm[]>> {
  const cross = crossCheckMappings(config.mappings);
  if (cross.length > 0) throw new MappingError(cross);
  const timeoutMs = config.request_timeout_s * 1000;
  const server = config.server;
  const opened: OpenedForm[] = [];
  const problems: string[] = [];
  const closeAll = async () => {
    for (const o of opened) await o.form.close();
  };
  for (const [i, m] of config.mappings.entries()) {
    const key = `mappings[${i}]`;
    if (server.kind === "kobo" && "kobo" in m.source) {
      const client = createKoboClient({ url: server.url, openrosaUrl: server.openrosa_url, token: server.token, timeoutMs });
      const asset = await client.getAsset(m.source.kobo.asset);
      if (!asset.ok) {
        await client.close();
        await closeAll();
        if (asset.error.kind === "rejected" && asset.error.status === 404) {
          throw new MappingError([`${key}.source.kobo.asset: there is no asset '${m.source.kobo.asset}' on ${server.url}; run 'meshlogd forms' to list the forms this account can see`]);
        }
        return fail(asset.error);
      }
      const schema = koboSchemaFromAsset(asset.value);
      if (!isSchema(schema)) {
        problems.push(`${key}.source.kobo.asset: ${schema.message}`);
        await client.close();
        continue;
      }
      try {
        opened.push({ mapping: resolveMapping(m, key, schema), form: createKoboForm(client, schema) });
      } catch (err) {
        await client.close();
        if (err instanceof MappingError) problems.push(...err.problems);
        else throw err;
      }
    } else if (server.kind === "odk" && "odk" in m.source) {
      const client = createOdkClient({ url: server.url, email: server.email, password: server.password, timeoutMs });
      const r = await openOdkForm(client, { ...m, source: m.source });
      if (!r.ok) {
        await client.close();
        await closeAll();
        if (r.error.kind === "rejected" && r.error.status === 404) {
          throw new MappingError([`${key}.source.odk: there is no form '${m.source.odk.form}' in project ${m.source.odk.project} on ${server.url} (${describeError(r.error)}); run 'meshlogd forms' to list the forms`]);
        }
        return fail(r.error);
      }
      const { schema, names } = r.value;
      if (typeof schema === "string") {
        problems.push(`${key}.source.odk: ${schema}`);
        await client.close();
        continue;
      }
      try {
        opened.push({ mapping: resolveMapping(m, key, schema), form: createOdkForm(client, { project: m.source.odk.project, schema, names: names! }) });
      } catch (err) {
        await client.close();
        if (err instanceof MappingError) problems.push(...err.problems);
        else throw err;
      }
    } else {
      const kind = "kobo" in m.source ? "kobo" : "odk";
      problems.push(`${key}.source: this site's server is ${server.kind === "kobo" ? "KoboToolbox" : "ODK Central"} (server.kind: ${server.kind}), but the mapping names a ${kind} form; use source.${server.kind === "kobo" ? "kobo.asset" : "odk.project and source.odk.form"}`);
    }
  }
  if (problems.length > 0) {
    await closeAll();
    throw new MappingError(problems);
  }
  if (config.mappings.some((m) => Object.values(m.fields.radio).includes("hash")) && !config.hash_key) {
    await closeAll();
    throw new MappingError(["hash_key: a mapping sends some field as a hash (fields.radio: hash), so every site needs the same secret hash_key (16+ characters, e.g. from an environment variable)"]);
  }
  return ok(opened);
}
