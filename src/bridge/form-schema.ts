/**
 * A form's structure as the bridge needs it, read from the local server
 * (KoboToolbox asset content, or ODK Central `/fields` plus the form XML):
 * which answers exist, at which path, of which type, inside which groups and
 * repeats. Paths are '/'-joined element names below the submission's root
 * element ("hh/size"), the same on both servers and the same as Kobo's JSON
 * keys. `meta/*`, `formhub/*` and `__version__` are envelope, not answers,
 * and never appear here.
 */

/** Answer types the bridge encodes compactly and writes back exactly. Unknown types are treated as strings. */
export type FieldType =
  | "string"
  | "int"
  | "decimal"
  | "boolean"
  | "date"
  | "dateTime"
  | "time"
  | "select_one"
  | "select_multiple"
  | "geopoint"
  | "geotrace"
  | "geoshape"
  | "binary";

export interface FieldNode {
  readonly kind: "field";
  /** Element name. */
  readonly name: string;
  /** Full path from the root ("hh/size", or "members/age" inside the repeat "members"). */
  readonly path: string;
  readonly type: FieldType;
  /**
   * For select fields whose choices the form itself lists: the choice names in
   * form order (the radio sends answers as their index). Absent for choices
   * from a file or an external source, and for other types.
   */
  readonly choices?: readonly string[];
}

export interface GroupNode {
  readonly kind: "group";
  readonly name: string;
  readonly path: string;
  readonly children: readonly SchemaNode[];
}

/** A repeat: its instances are sibling elements with the same name. */
export interface RepeatNode {
  readonly kind: "repeat";
  readonly name: string;
  readonly path: string;
  readonly children: readonly SchemaNode[];
}

export type SchemaNode = FieldNode | GroupNode | RepeatNode;

export interface FormSchema {
  readonly server: "kobo" | "odk";
  /** Kobo asset uid (which is also the XForm id_string), or ODK Central xmlFormId. */
  readonly formId: string;
  /** Human title, for messages. */
  readonly title: string;
  /** The submission XML's root element name (Kobo: the asset uid; Central: the primary instance's root, often "data"). */
  readonly rootName: string;
  /**
   * The version new submissions must carry. Kobo: `deployed_version_id` (the `__version__` element);
   * Central: the published form version (the root `version` attribute).
   */
  readonly version: string;
  /** Kobo only: the deployment's XForm uuid, sent as `formhub/uuid` so the server finds the form. */
  readonly formhubUuid?: string;
  /** Top-level nodes in form order (envelope excluded). */
  readonly nodes: readonly SchemaNode[];
}

/** Every node of the schema, depth-first in form order. */
export function* walkSchema(nodes: readonly SchemaNode[]): IterableIterator<SchemaNode> {
  for (const n of nodes) {
    yield n;
    if (n.kind !== "field") yield* walkSchema(n.children);
  }
}

/**
 * The replicable units of a form: every field outside repeats, and every
 * top-level repeat (a repeat travels as one value: its instances have no
 * identity that survives another server). Keyed by path.
 */
export function replicableNodes(schema: FormSchema): Map<string, FieldNode | RepeatNode> {
  const out = new Map<string, FieldNode | RepeatNode>();
  const visit = (nodes: readonly SchemaNode[]): void => {
    for (const n of nodes) {
      if (n.kind === "group") visit(n.children);
      else out.set(n.path, n);
    }
  };
  visit(schema.nodes);
  return out;
}

/** True for the envelope paths that are not answers. */
export function isEnvelopePath(path: string): boolean {
  return path === "meta" || path.startsWith("meta/") || path === "formhub" || path.startsWith("formhub/") || path === "__version__";
}

/**
 * A form definition the bridge cannot use (malformed server response, unbalanced
 * groups, a form that is not deployed), returned as a value, never thrown.
 * `message` says which form and what is wrong.
 */
export class SchemaError {
  readonly kind = "schema-error";
  constructor(readonly message: string) {}

  /** The first validation issue (zod's `error.issues`) of a response from `where`. */
  static fromIssues(where: string, issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]): SchemaError {
    const first = issues[0];
    const at = first && first.path.length > 0 ? ` at ${first.path.map(String).join(".")}` : "";
    return new SchemaError(`${where} is not what the bridge expects${at}: ${first?.message ?? "invalid"}`);
  }
}
