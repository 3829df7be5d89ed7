/**
 * The household form of test/fixtures as both servers describe it: the Kobo
 * asset JSON, and Central's form JSON, /fields lists and XForm; with the
 * schemas the bridge reads from them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SchemaError, type FormSchema } from "../../src/bridge/form-schema.js";
import { koboSchemaFromAsset } from "../../src/bridge/kobo-schema.js";
import { odkSchemaFromCentral } from "../../src/bridge/odk-schema.js";

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");

export const koboAsset = JSON.parse(fixture("kobo-household-asset.json")) as Record<string, unknown>;
export const odkCentral = JSON.parse(fixture("odk-household-central.json")) as { form: unknown; fields: unknown[]; odataFields: unknown[] };
export const odkXForm = fixture("odk-household.xml");

export function schemaOrFail(s: FormSchema | SchemaError): FormSchema {
  if (s instanceof SchemaError) assert.fail(s.message);
  return s;
}

export const koboSchema = (): FormSchema => schemaOrFail(koboSchemaFromAsset(koboAsset));
export const odkSchema = (): FormSchema =>
  schemaOrFail(odkSchemaFromCentral(odkCentral.form, odkCentral.fields, odkCentral.odataFields, odkXForm));
