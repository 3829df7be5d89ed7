/**
 * `meshlogd init`: creates this site's identity (a key file only the service
 * may read) and a commented config to fill in, and prints what to send to
 * the other sites. Never overwrites an identity or a config.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadOrCreateIdentity } from "../engine/store/identity-file.js";
import { generateNetworkKey } from "../radio/air/network-key.js";
import { configSkeleton } from "./config-skeleton.js";
import { configPath, parseArgs, UsageError } from "./options.js";

export function initCommand(args: readonly string[], out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`), env = process.env): number {
  const { options, flags } = parseArgs(args, ["config", "site", "network", "server", "data"], ["new-network", "stdout"]);
  const server = options.get("server") ?? "kobo";
  if (server !== "kobo" && server !== "odk") throw new UsageError(`--server must be kobo or odk, got "${server}"`);
  const file = resolve(configPath(options, env));
  const site = options.get("site") ?? "my-site";
  const dataDirText = options.get("data") ?? env.MESHLOGD_DATA_DIR ?? "./data";
  const dataDir = resolve(dirname(file), dataDirText);
  const keyFile = resolve(dataDir, "identity.pem");
  const { signer, created } = loadOrCreateIdentity(keyFile);
  out(created ? `identity created: ${keyFile} (mode 0600; back it up — it is this site for life)` : `identity already here: ${keyFile} (kept)`);
  const skeleton = configSkeleton({ site, network: options.get("network") ?? "my-network", server, dataDir: dataDirText });
  if (flags.has("stdout")) {
    out("");
    out(skeleton);
  } else if (existsSync(file)) {
    out(`config already here: ${file} (kept; \`meshlogd init --stdout\` prints a fresh skeleton)`);
  } else {
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, skeleton, { flag: "wx" });
      out(`config written: ${file} — fill in the server, the members and the mappings`);
    } catch (err) {
      out(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); here is the skeleton to save yourself:`);
      out("");
      out(skeleton);
    }
  }
  out("");
  out("Send this line to every other site, for their network.members:");
  out(`  - { name: ${site}, key: ${signer.author} }`);
  if (flags.has("new-network")) {
    out("");
    out("A new network key (for the first site only; give it to the other sites by hand, never by radio):");
    out(`  MESHLOGD_NETWORK_KEY=${generateNetworkKey()}`);
  }
  out("");
  out("Next: `meshlogd forms` lists the forms on your server and prints their mappings; then `meshlogd run`.");
  return 0;
}
