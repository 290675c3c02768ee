/// <reference types="vitest/config" />
import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// In development the dashboard runs on Vite's server and the API calls go through
// its proxy to the gateway (VITE_PROXY_TARGET, default http://127.0.0.1:8000), so
// the browser still sees one origin. In production the gateway serves dist/ itself.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '');
  const target = env.VITE_PROXY_TARGET || 'http://127.0.0.1:8000';
  return {
    plugins: [react(), tailwindcss()],
    server: {
      proxy: {
        '/api': { target, changeOrigin: true },
        '/health': { target, changeOrigin: true },
      },
    },
    build: { outDir: 'dist', sourcemap: true, chunkSizeWarningLimit: 1000 },
    test: {
      // e2e/ holds the browser tests, run by vitest.e2e.config.ts against a live stack.
      include: ['src/**/*.test.{ts,tsx}'],
      environment: 'jsdom',
      setupFiles: ['./src/test/setup.ts'],
      css: false,
      restoreMocks: true,
    },
  };
});
