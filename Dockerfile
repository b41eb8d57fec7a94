# syntax=docker/dockerfile:1
# data-streaming-api as a container: built in one stage, run from a slim one as the unprivileged `node` user, with its
# data in a volume and a health check on /health. Built by compose.yaml; see README ("A Grafana stack in one command").
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Native modules (better-sqlite3) build here if no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm ci --no-audit --no-fund \
  && npm run build -w @data-streaming/protocol -w @data-streaming/client -w @data-streaming/console -w backend \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_STREAMING_API_HOST=0.0.0.0 \
    DATA_STREAMING_API_PORT=9102 \
    DATA_STREAMING_DATA_DIR=/var/lib/data-streaming-api \
    DATA_STREAMING_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/config ./config
COPY --from=build /app/backend/package.json ./backend/package.json
COPY --from=build /app/backend/dist ./backend/dist
COPY --from=build /app/packages/protocol/package.json ./packages/protocol/package.json
COPY --from=build /app/packages/protocol/dist ./packages/protocol/dist
COPY --from=build /app/packages/client/package.json ./packages/client/package.json
COPY --from=build /app/packages/client/dist ./packages/client/dist
COPY --from=build /app/packages/client/bin ./packages/client/bin
COPY --from=build /app/packages/console/package.json ./packages/console/package.json
COPY --from=build /app/packages/console/dist ./packages/console/dist
RUN mkdir -p /var/lib/data-streaming-api && chown node:node /var/lib/data-streaming-api
USER node
VOLUME /var/lib/data-streaming-api
EXPOSE 9102
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9102/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "backend/dist/main.js"]
