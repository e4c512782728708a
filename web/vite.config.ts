import { resolve } from "node:path";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Two pages in one build, both under /app/ (the API mounts web/dist there): the buyer app
// (index.html) and the self-hosted GraphiQL (graphiql.html, served by the API at GET /graphql).
const api = process.env.AIQ_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // GraphiQL's editor (Monaco) is large by nature; it only loads on graphiql.html
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      input: {
        app: resolve(import.meta.dirname, "index.html"),
        graphiql: resolve(import.meta.dirname, "graphiql.html"),
      },
      onwarn(warning, warn) {
        // GraphiQL's packages mark modules "use no memo" for the React Compiler, a build-time
        // hint with no meaning in the bundle: the warning is noise, every other one is shown
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" && warning.message.includes("use no memo")) return;
        warn(warning);
      },
    },
  },
  worker: { format: "es" },
  server: {
    // `npm run dev`: the app on Vite's server, GraphQL (HTTP and websockets) proxied to the API
    proxy: { "/graphql": { target: api, ws: true, changeOrigin: false } },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
