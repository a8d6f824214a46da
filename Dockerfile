# syntax=docker/dockerfile:1
#
# One image for the engine's three processes; the command picks which one runs:
#
#   docker build -t reauth-engine .
#   docker run reauth-engine api            # the HTTP API           (dist/apps/api/main.js)
#   docker run reauth-engine worker         # the Temporal worker    (dist/apps/worker/main.js)
#   docker run reauth-engine sandbox-crm    # the local CRM emulator (dist/apps/sandbox-crm/main.js)
#   docker run reauth-engine keys-rotate    # re-encrypt stored secrets (dist/scripts/rotate-keys.js)
#
# Two stages: `build` installs every dependency and compiles (tsc + the workflow bundle); `runtime`
# is a slim Node 20 image with the production dependencies only, the compiled code and the browser
# files and page templates the API and the sandbox CRM read at run time (they are not TypeScript, so
# tsc leaves them out of dist/). No sources, no tests, no dev tools; it runs as an unprivileged user.
# Settings come from the environment (README, Configuration); the image holds no key or secret.
# test/unit/container-images.test.ts checks this file and docker-compose.yml.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && rm -rf dist/test dist/scripts/bench.js dist/scripts/bench.js.map dist/scripts/bench-report.js dist/scripts/bench-report.js.map dist/.tsbuildinfo

# ---- runtime: production dependencies and the compiled code only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of a dependency runs in the image (none is needed at run time).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/apps/api/console/page ./apps/api/console/page
COPY --from=build /app/apps/api/console/public ./apps/api/console/public
COPY --from=build /app/apps/api/connect/views ./apps/api/connect/views
COPY --from=build /app/apps/api/sdk/public ./apps/api/sdk/public
COPY --from=build /app/apps/sandbox-crm/oauth/*.hbs ./apps/sandbox-crm/oauth/
COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/reauth-engine
# The node image's unprivileged user (uid 1000); the files above stay root-owned and read-only to it.
USER node
# The API's port, the sandbox CRM's, the worker's /metrics.
EXPOSE 3000 4010 9464
ENTRYPOINT ["/usr/local/bin/reauth-engine"]
CMD ["api"]
