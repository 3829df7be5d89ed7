# meshlogd, the site service, as an image.
#
#   docker compose build            (or: docker build -t meshlogd:local .)
#   docker compose run --rm meshlogd init
#   docker compose up -d
#
# Two stages on the same Debian release (bookworm), so the native addons
# compiled in the first (better-sqlite3, @serialport/bindings-cpp) link against
# the same glibc as the runtime that loads them. The runtime has no compiler,
# no npm cache, no TypeScript and no test code, and runs as the image's
# unprivileged `node` user (uid 1000).

# ---------------------------------------------------------------- build stage
FROM node:20-bookworm-slim AS build

# Toolchain for node-gyp, used when no prebuilt addon matches the platform or
# the prebuilt download cannot be reached (better-sqlite3 then compiles).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Compile addons against the headers the Node tarball installed in
# /usr/local/include/node instead of downloading them from the internet.
ENV npm_config_nodedir=/usr/local

# The install layer depends only on the manifest and the lockfile, so editing
# the source does not re-run it. The image's npm (10.x with Node 20) ignores
# package.json "allowScripts" (an npm 11 field) and runs every install script;
# the lockfile has exactly three (better-sqlite3, @serialport/bindings-cpp and
# the dev-only cbor-extract), the same ones allowScripts lists.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# Only the service's source is compiled; tsconfig's test/ and bench/ globs
# match nothing here.
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# -------------------------------------------------------------- runtime stage
FROM node:20-bookworm-slim AS runtime

ENV NODE_ENV=production \
    MESHLOGD_CONFIG=/etc/meshlogd/meshlogd.yml \
    MESHLOGD_DATA_DIR=/var/lib/meshlogd

# `node` joins dialout, the group that owns USB serial devices (/dev/ttyUSB*,
# /dev/ttyACM*) on Debian, Ubuntu and Raspberry Pi OS (gid 20). The data
# directory belongs to it: a new named volume mounted there copies this
# ownership, so the identity key and the SQLite store are writable.
RUN usermod -a -G dialout node \
 && install -d -o node -g node -m 0750 /var/lib/meshlogd \
 && install -d -m 0755 /etc/meshlogd

WORKDIR /app

# Root owns the application files; the service can read but not change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config

USER node

# The admin page and the HTTP API (config: http.bind 0.0.0.0, http.port 8080).
EXPOSE 8080

# No curl in the image: Node's own fetch asks /api/health (200 healthy, 503 up
# but unhealthy) and gives up after 4 s, before Docker's 5 s timeout.
# MESHLOGD_HEALTH_URL overrides the address when the config moves the port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.MESHLOGD_HEALTH_URL||'http://127.0.0.1:8080/api/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Arguments after the image name replace CMD, so `docker compose run --rm
# meshlogd init` runs `meshlogd init`, `... meshlogd status` runs status.
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/meshlogd/meshlogd.yml"]
