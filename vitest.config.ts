import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      ...[
        'core',
        'lambda-runtimes',
        'python-lambda',
        'lambda-deploy',
        'lambda-emulator',
        's3-cache',
      ].flatMap((pkg) => [
        { find: new RegExp(`^@lbuild/${pkg}$`), replacement: src(pkg) },
        {
          find: new RegExp(`^@lbuild/${pkg}/(.+)$`),
          replacement: src(pkg).replace(/index\.ts$/, '$1.ts'),
        },
      ]),
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most tests wait on child processes (lbuild, pip, Python) or on timers (retries, debounce):
    // three workers keep two cores busy.
    maxWorkers: 3,
    // Tests that call the SDK in-process (the emulator's, lambda-deploy's) would each print its
    // Node-version notice on Node 20; the CLI's own bundled SDK is built without it.
    // The shared build cache is on by default on people's machines: tests that are not about it
    // must not restore each other's outputs through the developer's cache directory.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LBUILD_CACHE_MODE: 'off' },
  },
});
