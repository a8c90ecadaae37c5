import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@lbuild/core': src('core'),
      '@lbuild/python-lambda': src('python-lambda'),
      '@lbuild/lambda-deploy': src('lambda-deploy'),
      '@lbuild/lambda-emulator': src('lambda-emulator'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
