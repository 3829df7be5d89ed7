# meshlogd image. Native modules (better-sqlite3) are compiled in the build
# stage, which has python3, make and g++, then copied with the app into a slim
# runtime of the same Debian release, so the compiled addon matches its libc.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["demo"]
