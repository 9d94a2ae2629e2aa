# syntax=docker/dockerfile:1
# The auth server's image (the default, last stage) and the example instance's (target `example`); docker-compose.yml
# builds both. Native addons (argon2, better-sqlite3) are installed with the compilers at hand, in stages the runtime
# image does not keep.

# Every dependency, dev ones included: the compiler, and the example instance's Express and Socket.IO.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The server compiled by tsc into dist/.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY config config
COPY adapters adapters
COPY migrations migrations
COPY src src
RUN npm run build && chmod +x dist/src/cli.js

# Production dependencies only.
FROM deps AS production-deps
RUN npm prune --omit=dev

# The example ChillFi3-like instance, run from source with tsx (its Express and Socket.IO are dev dependencies).
FROM build AS example
COPY examples examples
ENV HOST=0.0.0.0 PORT=4000
USER node
EXPOSE 4000
CMD ["node", "--import", "tsx", "examples/instance/main.ts"]

# The production profile's balancer (docker-compose.yml): haproxy in front of the auth nodes and of PostgreSQL, with
# psql for the check that finds the writable PostgreSQL node (deploy/haproxy/).
FROM debian:bookworm-slim AS balancer
RUN apt-get update && apt-get install -y --no-install-recommends haproxy postgresql-client && rm -rf /var/lib/apt/lists/*
COPY deploy/haproxy/haproxy.cfg /etc/haproxy/haproxy.cfg
COPY deploy/haproxy/postgres-writable-check /usr/local/bin/postgres-writable-check
EXPOSE 3001 5432
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]

# The server: compiled code, production dependencies, views and the stylesheet; runs as the unprivileged `node` user.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY views views
COPY public public
RUN ln -s /app/dist/src/cli.js /usr/local/bin/chillfi3-auth
USER node
EXPOSE 3001
# Slim images have no curl: Node's fetch asks /readyz (PostgreSQL and Redis answering) on the configured port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.AUTH_PORT || 3001}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
