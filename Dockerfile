# syntax=docker/dockerfile:1
# The hook service image (`bib serve`). The builder image (the build Pod's tools) is separate.
#
#   docker build -t ghcr.io/bib-dev/bib-operator:0.1.0 .
#
# NODE_IMAGE builds, RUNTIME_IMAGE runs (it must have node at /nodejs/bin/node); scripts/images.sh
# passes ones it made locally where no registry can be reached.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

# --- build: all dependencies, compile TypeScript, then drop the dev dependencies ---------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: Node 22 LTS on distroless (no shell, no package manager), non-root -------------
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Numeric, so that the kubelet can verify runAsNonRoot.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
CMD ["serve"]
