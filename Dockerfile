# One image for every ledger service; the service is chosen by its command (docker-compose.yml) or by
# SERVICE (ingest, projector, query, relay, or ledger for the all-in-one, the default).
#   docker build -t attribution-ledger .
#   docker run -e SERVICE=ingest -e LEDGER_STORE=eventstoredb -e EVENTSTOREDB_URL=esdb://… attribution-ledger

# --- build: install everything (tsc is a dev dependency), compile, then drop the dev dependencies ---------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 ships prebuilt binaries for Node 20 on glibc; the toolchain is the fallback if none fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm ci
RUN npx tsc -b
RUN npm prune --omit=dev

# --- runtime: the compiled workspaces and production node_modules, run as the unprivileged `node` user ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    LEDGER_DATA_DIR=/data \
    SERVICE=ledger
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/packages ./packages
COPY --from=build --chown=node:node /app/services ./services
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/main.js"]
