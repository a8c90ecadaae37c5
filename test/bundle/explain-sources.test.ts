import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE } from './rig.js';

/**
 * `--explain` says where a stale wheelhouse's package sources now come from (a variable, a
 * pip.conf file, lbuild.toml), with credentials masked, not only which recipe field changed.
 * Real pip against two indexes on 127.0.0.1: `secured` needs a login, `open` does not.
 */
const TOKEN = `EXPLAIN-TOKEN-${randomBytes(8).toString('hex')}`;

let root: string;
let secured: IndexServer;
let open: IndexServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-explain-sources-'));
  await makeWheels(join(root, 'index'), [{ name: 'alpha', version: '1.0' }]);
  secured = await IndexServer.start({
    dirs: [join(root, 'index')],
    auth: { username: 'user', password: TOKEN },
  });
  open = await IndexServer.start({ dirs: [join(root, 'index')] });
}, 60_000);

afterAll(async () => {
  await secured.close();
  await open.close();
  rmSync(root, { recursive: true, force: true });
});

function project(): TempProject {
  return TempProject.create({
    'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
`,
    'requirements.txt': 'alpha==1.0\n',
    'app/handler.py': 'def handler(event, context):\n    return "ok"\n',
  });
}

describe('--explain names where the package sources came from', () => {
  it('another index in PIP_INDEX_URL, then in a pip.conf file: the source and its origin, token masked', async () => {
    const p = project();
    const conf = join(root, 'pip.conf');
    try {
      const first = await p.run(['-q'], { env: { PIP_INDEX_URL: open.url() } });
      expect(first.code).toBe(1);
      const built = await p.run([], { env: { PIP_INDEX_URL: open.url() } });
      expect(built.code, built.stdout + built.stderr).toBe(0);

      // Another index, with a login, from the variable.
      const env = { PIP_INDEX_URL: secured.url() };
      const detail = `package sources: index-url http://user:****@127.0.0.1:${secured.port}/simple/ (from PIP_INDEX_URL)`;
      for (const args of [
        ['-q', '--explain'],
        ['-n', '--explain'],
      ]) {
        const result = await p.run(args, { env });
        const output = result.stdout + result.stderr;
        expect(result.code, output).toBe(args[0] === '-q' ? 1 : 0);
        expect(output).toContain(`recipe changed: pip.index.indexUrl (${detail})`);
        expect(output).not.toContain(TOKEN);
      }
      const json = await p.run(['-n', '--json'], { env });
      expect(json.stdout).not.toContain(TOKEN);
      const summary = JSON.parse(json.stdout) as {
        targets: { key: string; reasonDetails?: { kind: string; detail?: string }[] }[];
      };
      const wheelhouse = summary.targets.find((t) => t.key === 'fn:wheelhouse');
      expect(wheelhouse?.reasonDetails).toContainEqual({
        kind: 'recipe-changed',
        field: 'pip.index.indexUrl',
        detail,
      });

      // The same index from a pip.conf file: the file is named.
      // Only this file: no user or machine configuration (pip still reads /etc/pip.conf, which
      // sets no package source where it exists).
      writeFileSync(conf, `[global]\nindex-url = ${secured.url()}\n`);
      const home = mkdtempSync(join(root, 'home-'));
      const fromFile = await p.run(['-q', '--explain'], {
        env: {
          PIP_CONFIG_FILE: conf,
          HOME: home,
          XDG_CONFIG_HOME: join(home, 'config'),
          XDG_CONFIG_DIRS: join(home, 'nowhere'),
        },
      });
      const output = fromFile.stdout + fromFile.stderr;
      expect(fromFile.code, output).toBe(1);
      expect(output).toContain(
        `(package sources: index-url http://user:****@127.0.0.1:${secured.port}/simple/ (from ${conf} [global]))`,
      );
      expect(output).not.toContain(TOKEN);

      // Nothing stale: `-q --explain` says nothing about sources.
      const same = await p.run(['-q', '--explain'], { env: { PIP_INDEX_URL: open.url() } });
      expect(same.code, same.stdout + same.stderr).toBe(0);
      expect(same.stdout + same.stderr).not.toContain('package sources');
    } finally {
      p.dispose();
    }
  }, 180_000);
});
