# flow-engine: runs from source through tsx (no build step), as `npm start` does locally.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# better-sqlite3 is a dependency even when EVENT_STORE points at EventStoreDB.
RUN npm ci --omit=dev
COPY . .
EXPOSE 3000
USER node
CMD ["npm", "start"]
