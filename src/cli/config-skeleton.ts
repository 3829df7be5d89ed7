/**
 * The commented config `meshlogd init` writes: every key a site needs, the
 * secrets as ${VARIABLES} from the env file, and a line on what each does.
 */
export interface SkeletonOptions {
  readonly site: string;
  readonly network: string;
  readonly server: "kobo" | "odk";
  readonly dataDir: string;
}

export function configSkeleton(o: SkeletonOptions): string {
  const server =
    o.server === "kobo"
      ? `server:
  kind: kobo
  url: http://kf.kobo.local          # KoboToolbox's kf host, as this machine reaches it
  # openrosa_url: http://kc.kobo.local  # the kc host, if /submission is not served by the kf host
  token: \${KOBO_TOKEN}               # the bridge account's API key (account settings → API key)`
      : `server:
  kind: odk
  url: https://central.local          # ODK Central, as this machine reaches it
  email: \${ODK_EMAIL}                # a web user with the Project Manager role
  password: \${ODK_PASSWORD}`;
  return `# meshlogd site configuration. Reference: README, "Running a site" → "Configuration reference".
# \${NAME} is read from the environment (e.g. meshlogd.env); never write secrets here.

site:
  name: ${o.site}                    # how the other sites see this one

data_dir: ${o.dataDir}               # the database and identity key (relative to this file)

network:
  name: ${o.network}                 # the same at every site
  key: \${MESHLOGD_NETWORK_KEY}       # 32-byte key shared by all sites: seals frames and bundles
  members:                           # every other site: its name and the public key its init printed
    # - { name: field-team-1, key: 0000000000000000000000000000000000000000000000000000000000000000 }

links:                               # how this site talks to the others
  # - kind: rnode                    # a LoRa radio (RNode) on USB serial
  #   port: /dev/ttyUSB0
  #   frequency: 868100000           # Hz; pick a frequency allowed in your country
  #   bandwidth: 125000
  #   spreading_factor: 9
  #   coding_rate: 5
  #   tx_power: 14                   # dBm; within your licence and the board's limit
  #   region: eu-868.0-868.6         # the duty-cycle rule (1 % of each hour here)
  # - kind: udp                      # sites on one LAN or a VPN
  #   bind: 0.0.0.0:4242
  #   peers: [192.168.1.20:4242]

${server}

mappings:                            # run \`meshlogd forms\` to list your forms and print these
  # - type: household                # the record type: the same name at every site
  #   source: { kobo: { asset: aBcDeFgHiJkLmNoP } }
  #   fields:
  #     radio: { hh/phone: never }   # never: stays at this site; hash: only a keyed hash goes on air
  #   priority: 5                    # 0..9: what goes on air first when airtime is short

schedule:
  poll: "* * * * *"                  # cron: poll the form server every minute

clock:
  max_forward_skew_h: 24             # stamps further ahead of this machine's clock are applied, not followed, and counted

http:
  bind: 127.0.0.1                    # 0.0.0.0 inside docker (the port is published on 127.0.0.1)
  port: 8080
  token: \${MESHLOGD_HTTP_TOKEN}      # needed by write endpoints (poll now, retry, import)

log:
  level: info                        # debug, info, warn or error
  format: auto                       # pretty on a terminal, JSON lines otherwise
`;
}
