import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE, NO_PIP_ENV } from './rig.js';

/**
 * Long pip work is visible without -v: a cold wheelhouse from a slow index says what pip fetches
 * and how far it got, and an index that does not answer shows pip's retries as they happen.
 * Output here is not a terminal, so progress comes as plain lines (one every two seconds at most).
 */
let root: string;
let index: IndexServer;
let project: TempProject | undefined;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-pip-progress-'));
  await makeWheels(join(root, 'index'), [
    { name: 'alpha', version: '1.0', deps: ['beta>=2'] },
    { name: 'beta', version: '2.0', deps: ['gamma'] },
    { name: 'gamma', version: '3.0' },
  ]);
  index = await IndexServer.start({ dirs: [join(root, 'index')], delayMs: 400 });
}, 60_000);

afterAll(async () => {
  await index.close();
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => project?.dispose());

function bundle(indexUrl: string): TempProject {
  return TempProject.create({
    'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app.py"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
index-url    = "${indexUrl}"
`,
    'requirements.txt': 'alpha==1.0\n',
    'app.py': 'def handler(event, context):\n    return 1\n',
  });
}

/** A port on 127.0.0.1 that nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const PROGRESS = /^ {2}fn:wheelhouse: \d+\/\d+ packages, (collecting|downloading) \S+/m;

describe('a cold wheelhouse from a slow index', () => {
  it('prints what pip fetches and how far it got, on stderr under --json (stdout stays one JSON summary)', async () => {
    project = bundle(index.url());
    const plain = await project.run([], { env: NO_PIP_ENV });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(PROGRESS);
    // Lines come at most every 2 s, so which counts show depends on timing; that some do does not.
    expect(plain.stdout).toMatch(/fn:wheelhouse: \d+\/\d+ packages/);

    project.remove('.lbuild');
    const json = await project.run(['--json'], { env: NO_PIP_ENV });
    expect(json.code, json.stderr).toBe(0);
    expect(() => JSON.parse(json.stdout) as unknown).not.toThrow();
    expect(json.stderr).toMatch(PROGRESS);
  }, 120_000);
});

describe('an index that does not answer', () => {
  it('a closed port: each retry of pip shows as a warning, without -v', async () => {
    const port = await closedPort();
    project = bundle(`http://127.0.0.1:${port}/simple/`);
    const result = await project.run([], {
      env: { ...NO_PIP_ENV, PIP_RETRIES: '2', PIP_TIMEOUT: '1' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `warning: pip is retrying /simple/alpha/ (connection refused; 1 retry left); indexes: http://127.0.0.1:${port}/simple/`,
    );
    expect(result.stderr).toContain(
      'warning: pip is retrying /simple/alpha/ (connection refused; 0 retries left)',
    );
  }, 120_000);

  it('an index slower than pip timeout: the timeouts show', async () => {
    const slow = await IndexServer.start({ dirs: [join(root, 'index')], delayMs: 3000 });
    try {
      project = bundle(slow.url());
      const result = await project.run([], {
        env: { ...NO_PIP_ENV, PIP_RETRIES: '1', PIP_TIMEOUT: '1' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'warning: pip is retrying /simple/alpha/ (timed out; 0 retries left)',
      );
    } finally {
      await slow.close();
    }
  }, 120_000);
});
