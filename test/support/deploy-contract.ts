/**
 * What the image, the compose file and the service agree on. The deployment
 * checks compare both files against these, so a change on one side shows up
 * as a failing check instead of a container that cannot start at a site.
 */

/** The service's name in docker-compose.yml. */
export const SERVICE = "meshlogd";
/** Where the identity and the SQLite store live in the container (MESHLOGD_DATA_DIR). */
export const DATA_DIR = "/var/lib/meshlogd";
/** Where the site's config is mounted, read-only. */
export const CONFIG_PATH = "/etc/meshlogd/meshlogd.yml";
/** The config file beside the compose file. */
export const CONFIG_SOURCE = "./meshlogd.yml";
/** The env file that carries the secrets. */
export const ENV_FILE = "meshlogd.env";
/** The RNode on the host unless RNODE_DEVICE says otherwise. */
export const DEFAULT_RNODE_DEVICE = "/dev/ttyUSB0";
/** The group that owns USB serial devices on Debian (gid 20). */
export const SERIAL_GROUP = "dialout";
/** The port the service listens on inside the container (config http.port). */
export const HTTP_PORT = 8080;
/** The only host address the port is published on by default. */
export const PUBLISH_HOST = "127.0.0.1";
/** The health endpoint: 200 when the site runs, 503 when up but unhealthy. */
export const HEALTH_PATH = "/api/health";
/** The compiled CLI, the package's `meshlogd` bin. */
export const CLI_ENTRY = "dist/src/cli/main.js";
/** The command a container runs by default. */
export const RUN_COMMAND = ["run", "--config", CONFIG_PATH] as const;
/** Secrets that must come from the env file, never from the compose file or the image. */
export const SECRET_NAMES = ["KOBO_TOKEN", "ODK_EMAIL", "ODK_PASSWORD", "MESHLOGD_HTTP_TOKEN", "MESHLOGD_NETWORK_KEY"] as const;
/** Paths the Dockerfile and the compose file rely on, relative to the repository root. */
export const REQUIRED_PATHS = ["package.json", "package-lock.json", "tsconfig.json", "src", "config", "src/cli/main.ts", "meshlogd.env.example"] as const;

/** A name that says "secret", for variables not in SECRET_NAMES. */
export const SECRET_NAME = /(TOKEN|PASSWORD|PASSWD|SECRET|_KEY)$/i;
/** A value that looks like a key or token: 20+ characters of hex/base64 alphabet. */
export const SECRET_VALUE = /^[A-Za-z0-9+/=_-]{20,}$/;

/**
 * The value compose would use with no variable set: `${VAR:-default}` and
 * `${VAR-default}` give their default, other forms of `${VAR}` and `$VAR`
 * give "", and `$$` is a literal `$`.
 */
export function interpolateDefaults(value: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole: string, _name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === "$$") return "$";
      return op === ":-" || op === "-" ? (arg ?? "") : "";
    },
  );
}

/** Milliseconds of a compose/Docker duration such as "1m30s", "5s", "250ms"; NaN when it is not one. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return Number.NaN;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ""] ?? Number.NaN), 0);
}

/** The `AbortSignal.timeout(N)` of a health-check script, in ms; undefined if it has none. */
export function scriptTimeoutMs(script: string): number | undefined {
  const m = /AbortSignal\.timeout\((\d+)\)/.exec(script);
  return m === null ? undefined : Number(m[1]);
}
