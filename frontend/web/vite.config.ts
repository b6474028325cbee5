/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const outDir = fileURLToPath(new URL('dist', import.meta.url));

// dist/ is emptied on every build, but its .gitkeep is tracked so that the
// door's Go build finds the folder on a fresh clone: put it back.
function keepGitkeep(): Plugin {
  return {
    name: 'keep-gitkeep',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(outDir, '.gitkeep'), '');
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [react(), keepGitkeep()],
  build: { outDir, emptyOutDir: true },
  server: {
    // `npm run dev` talks to a running door (make run) for /api.
    proxy: { '/api': process.env.API_URL ?? 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
    testTimeout: 15_000, // the machine running the tests may be busy (see src/test/setup.ts)
    env: { TZ: 'UTC' }, // the venue's zone, by default the browser's
  },
});
