/**
 * ODK Central's error vocabulary, as the double answers it: every failure is
 * an OdkProblem whose HTTP status is the integer part of `code`, sent as
 * `{"message","code","details"?}` by one writer. Messages and details follow
 * central-backend's lib/util/problem.js (the details object is whatever the
 * problem was raised with; JSON drops it when absent).
 */

/** A failure the double reports to the client exactly as Central would. */
export class OdkProblem extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "OdkProblem";
  }

  /** The HTTP status: 409.9 → 409. */
  get status(): number {
    return Math.floor(this.code);
  }

  /** The response body. */
  toJson(): { message: string; code: number; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { message: this.message, code: this.code }
      : { message: this.message, code: this.code, details: this.details };
  }
}

/** Problems Central raises with no code of its own (a PostgreSQL error it does not translate): a bare 500. */
export class OdkInternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OdkInternalError";
  }
}

const p = (code: number, message: string, details?: Record<string, unknown>): OdkProblem => new OdkProblem(code, message, details);

/** Constructors for the problems the double can raise, named as in Central. */
export const problems = {
  unparseable: (format: string, rawLength: number) =>
    p(400.1, `Could not parse the given data (${rawLength} chars) as ${format}.`, { format, rawLength }),
  missingParameter: (field: string) => p(400.2, `Required parameter ${field} missing.`, { field }),
  missingParameters: (expected: string[], got: Record<string, unknown>) =>
    p(400.3, `Required parameters missing. Expected (${expected.join(", ")}), got (${printPairs(got)}).`, { expected, got }),
  unexpectedValue: (field: string, value: string, reason: string) =>
    p(400.8, `Unexpected ${field} value ${value}; ${reason}`, { field, value, reason }),
  invalidDataType: (value: string, expected: string) =>
    p(400.11, `Invalid input data type: expected "${value}" to be (${expected})`, { value, expected }),
  unparseableODataExpression: (reason: string) =>
    p(400.18, `The OData filter expression you provided could not be parsed: ${reason}`, { reason }),
  expectedDeprecation: () =>
    p(400.19, "This PUT endpoint expects a deprecatedID metadata tag pointing at the current version instanceID. I cannot find that tag in your request."),
  propertyNotFound: (property: string) => p(400.23, `Could not find a property named '${property}'`, { property }),
  unsupportedODataSelectField: (property: string) =>
    p(400.24, `The given OData select property '${property}' uses features not supported by this server.`, { property }),
  odataRepeatIdNotFound: () => p(400.34, "Record associated with the provided $skiptoken not found."),
  odataInvalidSkiptoken: () => p(400.35, "Invalid $skiptoken"),
  authenticationFailed: () => p(401.2, "Could not authenticate with the provided credentials."),
  httpsOnly: () => p(401.3, "This authentication method is only available over HTTPS"),
  insufficientRights: () => p(403.1, "The authentication you provided does not have rights to perform that action."),
  notFound: () => p(404.1, "Could not find the resource you were looking for."),
  missingApiVersion: () => p(404.2, "Expected an API version (eg /v1) at the start of the request URL."),
  unexpectedApiVersion: (got: string) => p(404.3, `Unexpected an API version (accepts: 1) (got: ${got}).`, { got }),
  formVersionNotFound: (formVersion: string) =>
    p(404.6, `The form version specified in this submission '${formVersion}' does not exist.`, { formVersion }),
  unacceptableFormat: (allowed: string[], got: string) =>
    p(406.1, `Requested format not acceptable; this resource allows: ${allowed.join()}.`, { allowed, got }),
  uniquenessViolation: (fields: string[] | string, values: string[] | string, table?: string) =>
    p(409.3, `A resource already exists with ${String(fields)} value(s) of ${String(values)}.`, table === undefined ? { fields, values } : { fields, values, table }),
  versionUniquenessViolation: (xmlFormId: string, version: string) =>
    p(409.6, `You tried to publish the form '${xmlFormId}' with version '${version}', but a published form has already existed in this project with those identifiers.`, { xmlFormId, version }),
  deprecatingOldSubmission: (deprecatedId: string) =>
    p(409.9, `You tried to update a submission, but the copy you were editing (${deprecatedId}) is now out of date. Please get the new version that has been submitted, and make your edits again.`, { deprecatedId }),
  notImplemented: (feature: string) => p(501.1, `The requested feature ${feature} is not supported by this server.`, { feature }),
  unsupportedODataExpression: (at: number, type: string, text: string) =>
    p(501.4, `The given OData filter expression uses features not supported by this server: ${type} at ${at} ("${text}")`, { at, type, text }),
  unsupportedODataField: (text: string, at?: number) =>
    p(501.5, `The given OData filter expression references fields not supported by this server: ${text}${at === undefined ? "" : ` at ${at}`}`, at === undefined ? { text } : { at, text }),
  unsupportedODataExpand: (text: string) =>
    p(501.6, `The given OData expand expression is not supported by this server: "${text}". Currently, only "$expand=*" is supported.`, { text }),
  unsupportedODataSelectExpand: () => p(501.11, "This server doesn't support $select query parameter with $expand."),
};

/** Central prints `got` with node's util.inspect: strings quoted, absent values as undefined. */
function printPairs(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? `'${v}'` : String(v)}`)
    .join(", ");
}
