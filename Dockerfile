# One image for every program: the command chooses (`pilot`, `collector`, `query`, `all`).
#
# The build stage compiles the TypeScript and the native SQLite binding; the runtime stage carries only
# production dependencies. Both stages use BASE_IMAGE (a Debian 12 root with Node.js 20), so the binding
# built in the first runs in the second.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN if ! command -v g++ >/dev/null; then apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; fi
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY cli cli
COPY core core
COPY pilot pilot
COPY collector collector
COPY query query
COPY test test
COPY bench bench
RUN npx tsc -p tsconfig.json && npm prune --omit=dev && rm -rf dist/test dist/bench

FROM ${BASE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    SHIPWATCH_DATA_DIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The web UI's static files (no build step): dist/query/ui-routes.js serves them from /app/query/ui.
COPY --from=build /app/query/ui query/ui
COPY bin/shipwatch.js bin/shipwatch.js
VOLUME /data
# collector: 6831/udp 6832/udp 14268 9411 4318 14269; query: 16686 16687; pilot admin: 14271
EXPOSE 6831/udp 6832/udp 14268 9411 4318 14269 16686 16687 14271
ENTRYPOINT ["node", "/app/bin/shipwatch.js"]
CMD ["all"]
