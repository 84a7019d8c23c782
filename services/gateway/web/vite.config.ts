import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the app on :5173 and forwards the API and WebSockets to the gateway on :8080
// (add http://localhost:5173 to AW_GATEWAY_ALLOWED_ORIGINS). `make dev` serves the built app from the gateway.
export default defineConfig({
  plugins: [react()],
  // No source maps in the build: the gateway serves dist/ to anyone. `npm run build` then writes brotli and gzip
  // copies of each asset (scripts/compress.mjs) for the gateway to serve by Accept-Encoding.
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"], environment: "node" },
});
