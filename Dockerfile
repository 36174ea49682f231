# The Glidepath controller image: Node 24, the controller compiled by tsc (dist/), production
# dependencies only, a non-root user. Build from the repository root:
#
#   docker build -t registry.example.com/glidepath/controller:0.1.0 .
#
# The Helm chart and manifests/install run it as `node <V8 flags> /app/dist/main.js --config FILE`
# (the same command as the ENTRYPOINT below). test/integration/image.test.ts runs these
# stages' commands on the host, since no image can be built on the development machines.

# The Node version the tests run on (the `node` devDependency).
ARG NODE_VERSION=24.21.0

# 1. Compile. TypeScript is a devDependency, so this stage installs everything. No install
#    script is needed to compile (the `node` devDependency's would download a second Node).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 2. Production dependencies only (none has an install script).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: node_modules, dist/ and package.json ("type": "module" makes dist/ ESM). The
#    default strategy file rides along for running the image outside a cluster; in a cluster
#    the ConfigMap's copy is used.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY rollout/rollout-strategy.json ./rollout/
# The image's `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# Two V8 flags bound the heap's slack (docs/performance.md, "Memory"): a young generation of at
# most 8 MiB, and a full collection when the old generation grows by half. Without them V8 takes
# room in proportion to the node's memory: 494 instead of 210 MiB at 1,000 active Releases, for
# the same latency. They go on the command line: V8 refuses the second in NODE_OPTIONS.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "/app/dist/main.js"]
