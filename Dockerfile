# One multi-stage build for every app. Each app is a target of its own (`docker build --target api .`),
# all built from the same compiled tree so the apps can never run mismatched contract versions.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.base.json tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY tools ./tools
RUN npm run build && npm prune --omit=dev

# Shared runtime: production dependencies and the compiled code, run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./package.json
USER node
STOPSIGNAL SIGTERM

FROM runtime AS migrate
CMD ["node", "dist/libs/persistence/src/cli/migrate.js", "run"]

FROM runtime AS api
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]

FROM runtime AS session-worker
EXPOSE 3001
CMD ["node", "dist/apps/session-worker/src/main.js"]

FROM runtime AS sync
EXPOSE 3002
CMD ["node", "dist/apps/sync/src/main.js"]

# The sandboxes are test and demo tools: they run with NODE_ENV=development on purpose.
FROM runtime AS wa-sandbox
ENV NODE_ENV=development
EXPOSE 8781 8782
CMD ["node", "dist/apps/wa-sandbox/src/main.js"]

FROM runtime AS ghl-sandbox
ENV NODE_ENV=development
COPY --from=build --chown=node:node /app/apps/ghl-sandbox/openapi ./apps/ghl-sandbox/openapi
EXPOSE 8090
CMD ["node", "dist/apps/ghl-sandbox/src/main.js"]
