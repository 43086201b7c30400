# Concierge container image.
#   docker build -t concierge .
#   docker run --rm -v "$PWD/concierge.yaml:/etc/concierge/concierge.yaml:ro" \
#     -e CONCIERGE_COMPONENT__SECRET=... -e DATABASE_URL=postgres://... concierge
# Other commands: `docker run --rm ... concierge migrate|check-config --config FILE`.

# ---- Build stage: compile TypeScript (tsc) to dist/ ----
FROM node:20-slim AS build
WORKDIR /app
# Dependencies first, so this layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY types/ types/
COPY src/ src/
# tsc -p tsconfig.build.json: dist/src/main.js is the entry point.
RUN npm run build

# ---- Runtime stage: production dependencies and the compiled code only ----
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist/ dist/
# SQL migrations, applied by `concierge migrate` or at start; found next to package.json.
COPY migrations/ migrations/
# The files stay owned by root; the daemon runs as the image's unprivileged `node` user.
USER node
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["start", "--config", "/etc/concierge/concierge.yaml"]
