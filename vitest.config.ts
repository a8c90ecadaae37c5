import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      ...['core', 'lambda-runtimes', 'python-lambda', 'lambda-deploy', 'lambda-emulator'].flatMap(
        (pkg) => [
          { find: new RegExp(`^@lbuild/${pkg}$`), replacement: src(pkg) },
          {
            find: new RegExp(`^@lbuild/${pkg}/(.+)$`),
            replacement: src(pkg).replace(/index\.ts$/, '$1.ts'),
          },
        ],
      ),
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
