# One image for every program: the command chooses (`pilot`, `collector`, `query`, `all`, `ingester`, `demo`).
#
# The build stage compiles the TypeScript and the native SQLite binding; the runtime stage carries only
# production dependencies. Both stages use BASE_IMAGE (a Debian 12 root with Node.js 20), so the binding
# built in the first runs in the second.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN if ! command -v g++ >/dev/null; then apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; fi
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
# .npmrc names the dependencies whose install scripts may run.
COPY package.json package-lock.json .npmrc ./
# node-gyp compiles against the headers of the Node.js it runs on when they are installed beside it
# (<prefix>/include/node: /usr/local in the official node image, /usr in a Debian-packaged Node.js); without
# them it would download them, which a build without internet cannot.
RUN nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" \
 && if [ -f "$nodedir/include/node/common.gypi" ]; then export npm_config_nodedir="$nodedir"; fi \
 && npm ci --ignore-scripts --no-audit --no-fund \
 && JOBS=max npm rebuild better-sqlite3 \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
COPY tsconfig.json ./
COPY cli cli
COPY platform platform
COPY model model
COPY delivery delivery
COPY storage storage
COPY logs logs
COPY pilot pilot
COPY collector collector
COPY query query
COPY ingester ingester
# Only the programs are compiled (test/ and bench/ stay out of the image).
RUN printf '{"extends":"./tsconfig.json","include":["cli","platform","model","delivery","storage","logs","pilot","collector","query","ingester"]}' >tsconfig.image.json \
 && npx tsc -p tsconfig.image.json \
 && npm prune --omit=dev --no-audit --no-fund

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
# collector: 6831/udp 6832/udp 14268 14250 9411 4318 4317 5778 14269; query: 16686 16687; pilot admin: 14271;
# ingester admin: 14270
EXPOSE 6831/udp 6832/udp 14268 14250 9411 4318 4317 5778 14269 16686 16687 14271 14270
ENTRYPOINT ["node", "/app/bin/shipwatch.js"]
CMD ["all"]
