# Tollgate (the ext_proc service + admin API) on Node 24 LTS. Envoy runs from its official image beside it
# (docker-compose.yml); both share one network namespace, the unit that scales.
FROM node:24.21.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY src ./src
COPY config ./config
COPY test/fakes ./test/fakes
USER node
EXPOSE 50051 8088
ENTRYPOINT ["node", "src/cli/main.ts"]
CMD ["serve"]
