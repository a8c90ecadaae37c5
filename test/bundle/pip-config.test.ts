import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE } from './rig.js';

/**
 * pip's own configuration (pip.conf files, PIP_* variables) supplies the package sources that
 * lbuild.toml leaves unset, with credentials kept out of everything lbuild prints or writes, and
 * only the sources' identity (URLs without logins, constraint contents) in the fingerprint.
 * Real pip against real indexes on 127.0.0.1: `main` needs a login, `other` serves the same
 * wheels without one.
 */
const TOKEN = `PIPCONF-TOKEN-${randomBytes(8).toString('hex')}`;
const ROTATED = `PIPCONF-ROTATED-${randomBytes(8).toString('hex')}`;
const SECRETS = [TOKEN, ROTATED];

let root: string;
let main: IndexServer;
let other: IndexServer;
/** A port nothing listens on. */
let closedPort: number;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-pip-config-'));
  await makeWheels(join(root, 'index'), [
    { name: 'alpha', version: '1.0', deps: ['beta>=2'] },
    { name: 'beta', version: '2.0' },
    { name: 'beta', version: '3.0' },
  ]);
  main = await IndexServer.start({
    dirs: [join(root, 'index')],
    auth: { username: 'user', password: TOKEN },
  });
  other = await IndexServer.start({ dirs: [join(root, 'index')] });
  closedPort = await freePort();
}, 60_000);

afterAll(async () => {
  await main.close();
  await other.close();
  rmSync(root, { recursive: true, force: true });
});

function project(extraToml = ''): TempProject {
  return TempProject.create({
    'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
${extraToml}`,
    'requirements.txt': 'alpha==1.0\n',
    'app/handler.py': 'def handler(event, context):\n    return "ok"\n',
  });
}

/** Every file below `dir`, recursively. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function expectNoSecret(p: TempProject, output: string): void {
  for (const secret of SECRETS) expect(output).not.toContain(secret);
  const written = [...filesBelow(p.path('.lbuild')), ...filesBelow(p.path('dist'))];
  expect(written.length).toBeGreaterThan(0);
  for (const file of written) {
    const bytes = readFileSync(file);
    for (const secret of SECRETS) expect(bytes.includes(secret), file).toBe(false);
  }
}

const served = (index: IndexServer) =>
  index.requests.filter((r) => r.authorized && r.status === 200).map((r) => r.path);

describe('pip configuration', () => {
  it('PIP_CONFIG_FILE: its index is used; a rotated token rebuilds nothing, another index does', async () => {
    const p = project();
    const conf = join(root, 'pip-env.conf');
    const env = { PIP_CONFIG_FILE: conf };
    try {
      writeFileSync(conf, `[global]\nindex-url = ${main.url()}\n`);
      const before = served(main).length;
      const first = await p.run(['-v', '--json'], { env });
      const output = first.stdout + first.stderr;
      expect(first.code, output).toBe(0);
      expect(served(main).length).toBeGreaterThan(before);
      expect(served(main)).toContain('/files/alpha-1.0-py3-none-any.whl');
      // Where the index came from, with the login masked.
      expect(output).toContain(
        `index-url http://user:****@127.0.0.1:${main.port}/simple/ (from ${conf} [global])`,
      );
      expectNoSecret(p, output);

      // The token rotates (aws codeartifact login writes a new one): nothing to rebuild.
      writeFileSync(conf, `[global]\nindex-url = ${main.url().replace(TOKEN, ROTATED)}\n`);
      expect((await p.run(['-q'], { env })).code).toBe(0);

      // Another index: the wheelhouse must be filled from it.
      writeFileSync(conf, `[global]\nindex-url = ${other.url()}\n`);
      const explained = await p.run(['-q', '--explain'], { env });
      expect(explained.code, explained.stdout + explained.stderr).toBe(1);
      expect(explained.stdout + explained.stderr).toContain('fn:wheelhouse');
      expectNoSecret(p, explained.stdout + explained.stderr);
    } finally {
      p.dispose();
    }
  }, 180_000);

  it('a user pip.conf (XDG_CONFIG_HOME) and PIP_INDEX_URL are honoured; lbuild.toml wins', async () => {
    const home = mkdtempSync(join(root, 'home-'));
    mkdirSync(join(home, 'config', 'pip'), { recursive: true });
    writeFileSync(
      join(home, 'config', 'pip', 'pip.conf'),
      `[global]\nindex-url = ${other.url()}\n`,
    );
    const userEnv = {
      PIP_CONFIG_FILE: undefined,
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_CONFIG_DIRS: join(home, 'nowhere'),
    };
    const p = project();
    try {
      const fromUser = await p.run(['-v'], { env: userEnv });
      expect(fromUser.code, fromUser.stdout + fromUser.stderr).toBe(0);
      expect(fromUser.stdout).toContain(
        `index-url http://127.0.0.1:${other.port}/simple/ (from ${join(home, 'config', 'pip', 'pip.conf')} [global])`,
      );

      // PIP_INDEX_URL beats the file, as in pip: another index, so the wheelhouse runs again.
      const fromVariable = await p.run(['-v', '--explain'], {
        env: { ...userEnv, PIP_INDEX_URL: main.url() },
      });
      const output = fromVariable.stdout + fromVariable.stderr;
      expect(fromVariable.code, output).toBe(0);
      expect(output).toContain('▶ fn:wheelhouse');
      expect(output).toContain(
        `index-url http://user:****@127.0.0.1:${main.port}/simple/ (from PIP_INDEX_URL)`,
      );
      expectNoSecret(p, output);

      // lbuild.toml's index-url overrides both: a dead PIP_INDEX_URL is never asked.
      p.write(
        'lbuild.toml',
        p.read('lbuild.toml') + `index-url = "http://127.0.0.1:${other.port}/simple/"\n`,
      );
      const fromToml = await p.run(['-v'], {
        env: { ...userEnv, PIP_INDEX_URL: `http://127.0.0.1:${closedPort}/simple/` },
      });
      expect(fromToml.code, fromToml.stdout + fromToml.stderr).toBe(0);
      expect(fromToml.stdout).toContain(
        `index-url http://127.0.0.1:${other.port}/simple/ (from lbuild.toml index-url)`,
      );
    } finally {
      p.dispose();
    }
  }, 180_000);

  it('a constraint file of pip.conf applies and is fingerprinted; pip-config = "ignore" isolates', async () => {
    const p = project();
    const conf = join(root, 'pip-constraint.conf');
    const constraints = join(root, 'constraints.txt');
    const env = { PIP_CONFIG_FILE: conf };
    try {
      writeFileSync(constraints, 'beta==2.0\n');
      writeFileSync(conf, `[global]\nindex-url = ${other.url()}\nconstraint = ${constraints}\n`);
      const first = await p.run(['--json'], { env });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const wheels = () =>
        Object.keys(
          JSON.parse(p.read('.lbuild/targets/fn%3awheelhouse/wheels.json')).wheels as object,
        ).sort();
      expect(wheels()).toEqual(['alpha-1.0-py3-none-any.whl', 'beta-2.0-py3-none-any.whl']);

      // The constraint file's contents are identity: lifting the pin rebuilds, and gets beta 3.
      writeFileSync(constraints, '# no pin\n');
      expect((await p.run(['-q'], { env })).code).toBe(1);
      expect((await p.run([], { env })).code).toBe(0);
      expect(wheels()).toEqual(['alpha-1.0-py3-none-any.whl', 'beta-3.0-py3-none-any.whl']);

      // An impossible pin fails the build, as pip would.
      writeFileSync(constraints, 'beta==9.9\n');
      expect((await p.run([], { env })).code).toBe(1);

      // A constraint file that is not there is a config error naming it and where it is set.
      writeFileSync(conf, `[global]\nconstraint = ${join(root, 'gone.txt')}\n`);
      const missing = await p.run(['-q'], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(
        `The constraint file ${join(root, 'gone.txt')} (from ${conf} [global]) does not exist.`,
      );

      // Isolation: pip's configuration is ignored, lbuild.toml alone decides.
      p.write(
        'lbuild.toml',
        p.read('lbuild.toml') +
          `pip-config = "ignore"\nindex-url = "http://127.0.0.1:${other.port}/simple/"\n`,
      );
      const isolated = await p.run(['-v'], { env });
      expect(isolated.code, isolated.stdout + isolated.stderr).toBe(0);
      expect(isolated.stdout).not.toContain('constraint');
    } finally {
      p.dispose();
    }
  }, 180_000);
});

describe('${VAR} in package sources', () => {
  const toml = `index-url = "http://\${IDX_USER:-user}:\${IDX_TOKEN}@127.0.0.1:\${IDX_PORT}/simple/"\n`;

  it('expands set variables, keeps their secrets out, and a rotated one rebuilds nothing', async () => {
    const p = project(toml);
    try {
      const env = { IDX_TOKEN: TOKEN, IDX_PORT: String(main.port) };
      const first = await p.run(['-v', '--json'], { env });
      const output = first.stdout + first.stderr;
      expect(first.code, output).toBe(0);
      expectNoSecret(p, output);
      expect((await p.run(['-q'], { env: { ...env, IDX_TOKEN: ROTATED } })).code).toBe(0);
      // The port is part of the host: another index.
      expect((await p.run(['-q'], { env: { ...env, IDX_PORT: String(other.port) } })).code).toBe(1);
    } finally {
      p.dispose();
    }
  }, 120_000);

  it('an unset variable is a config error naming it and the key', async () => {
    const p = project(toml);
    try {
      for (const args of [[], ['-q']]) {
        const result = await p.run(args, {
          env: { IDX_PORT: String(main.port), IDX_TOKEN: undefined },
        });
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('${IDX_TOKEN}');
        expect(result.stderr).toContain('index-url');
        expect(result.stderr).toMatch(/lbuild\.toml:6/);
      }
      expect(p.exists('dist/fn.zip')).toBe(false);
    } finally {
      p.dispose();
    }
  }, 60_000);
});

describe('index failures say what failed', () => {
  it('401: the index refused the credentials, naming the host without them', async () => {
    const p = project(`index-url = "${main.url().replace(TOKEN, ROTATED)}"\n`);
    try {
      const result = await p.run(['--json'], { env: { PIP_RETRIES: '0' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain(`The package index 127.0.0.1:${main.port} refused the credentials`);
      expect(output).toContain('aws codeartifact login');
      expect(output).not.toContain('No distribution found');
      expect(JSON.stringify(JSON.parse(result.stdout))).toContain('index-refused-credentials');
      expectNoSecret(p, output);
    } finally {
      p.dispose();
    }
  }, 60_000);

  it('connection refused: the index could not be reached', async () => {
    const p = project(`index-url = "http://user:${TOKEN}@127.0.0.1:${closedPort}/simple/"\n`);
    try {
      const result = await p.run([], { env: { PIP_RETRIES: '0' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain(
        `The package index 127.0.0.1:${closedPort} could not be reached (connection refused)`,
      );
      expect(output).not.toContain('No distribution found');
      for (const secret of SECRETS) expect(output).not.toContain(secret);
    } finally {
      p.dispose();
    }
  }, 60_000);

  it('TLS: an https URL to a plain HTTP server', async () => {
    const p = project(`index-url = "https://127.0.0.1:${other.port}/simple/"\n`);
    try {
      const result = await p.run([], { env: { PIP_RETRIES: '0' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain(
        `The TLS connection to the package index 127.0.0.1:${other.port} failed`,
      );
      expect(output).not.toContain('No distribution found');
    } finally {
      p.dispose();
    }
  }, 60_000);

  it('a timeout: the index answers slower than pip waits', async () => {
    const slow = await IndexServer.start({ dirs: [join(root, 'index')], delayMs: 5000 });
    const p = project(`index-url = "${slow.url()}"\n`);
    try {
      const result = await p.run([], { env: { PIP_RETRIES: '0', PIP_TIMEOUT: '1' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain(
        `The package index 127.0.0.1:${slow.port} could not be reached (timed out)`,
      );
      expect(output).not.toContain('No distribution found');
    } finally {
      p.dispose();
      await slow.close();
    }
  }, 60_000);

  it('a wrong index path: the root answers 404 too', async () => {
    const p = project(`index-url = "http://127.0.0.1:${other.port}/pypi/simple/"\n`);
    try {
      const result = await p.run([], { env: { PIP_RETRIES: '0' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain('answered 404 Not Found for its root');
      expect(output).not.toContain('No distribution found');
    } finally {
      p.dispose();
    }
  }, 60_000);

  it('an index that answered without the project: No distribution found', async () => {
    const p = project(`index-url = "${other.url()}"\n`);
    try {
      p.write('requirements.txt', 'gamma==1.0\n');
      const result = await p.run([], { env: { PIP_RETRIES: '0' } });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toContain('No distribution found for gamma==1.0');
    } finally {
      p.dispose();
    }
  }, 60_000);
});
