import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import { makeLocalProject, makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE, NO_PIP_ENV } from './rig.js';

/**
 * Index logins never reach a command line, where every local user can read them (`ps`,
 * /proc/PID/cmdline). Two slow local indexes that require logins: the bundle's index-url (user
 * and password in lbuild.toml) and an extra index in the requirements file (a token from the
 * environment), which alone has the build requirement of a local project, so that pip's own
 * child process (installing build requirements into the isolated build environment) must log in
 * too. While lbuild runs, every process's command line is read over and over.
 */
const TOKEN = `SECRET-TOKEN-${randomBytes(8).toString('hex')}`;
const REQ_TOKEN = `REQ-TOKEN-${randomBytes(8).toString('hex')}`;
const SECRETS = [TOKEN, REQ_TOKEN];

let root: string;
let main: IndexServer;
let extra: IndexServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-index-credentials-'));
  await makeWheels(join(root, 'index'), [
    { name: 'alpha', version: '1.0', deps: ['beta>=2'] },
    { name: 'beta', version: '2.0' },
  ]);
  await makeWheels(join(root, 'build-index'), [{ name: 'buildhelper', version: '1.0' }]);
  main = await IndexServer.start({
    dirs: [join(root, 'index')],
    auth: { username: 'user', password: TOKEN },
    delayMs: 250,
  });
  extra = await IndexServer.start({
    dirs: [join(root, 'build-index')],
    auth: { username: '__token__', password: REQ_TOKEN },
    delayMs: 250,
  });
}, 60_000);

afterAll(async () => {
  await main.close();
  await extra.close();
  rmSync(root, { recursive: true, force: true });
});

interface Scan {
  /** Command lines that held a secret (secrets masked). */
  leaks: string[];
  /** Command lines of pip processes seen. */
  pip: Set<string>;
  /** NETRC of pip processes seen, with the file's and its directory's modes then. */
  netrc: Map<string, { file: number; dir: number }>;
  sweeps: number;
}

/** Reads every process's command line (and pip's NETRC) until `done` settles. */
async function scanProcesses(done: Promise<unknown>): Promise<Scan> {
  const scan: Scan = { leaks: [], pip: new Set(), netrc: new Map(), sweeps: 0 };
  const state = { finished: false };
  void done.finally(() => (state.finished = true));
  const mask = (text: string) => SECRETS.reduce((t, s) => t.split(s).join('<SECRET>'), text);
  while (!state.finished) {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue;
      }
      if (SECRETS.some((s) => cmdline.includes(s))) scan.leaks.push(`${pid}: ${mask(cmdline)}`);
      // pip as `python -m pip`, as pip's own child (`__pip-runner__`), or through lbuild's
      // marker bootstrap (`python -c "…runpy.run_module("pip"…" download …`).
      if (!/ -m pip |pip\/__pip-runner__|run_module\("pip"/.test(cmdline)) continue;
      scan.pip.add(cmdline);
      try {
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const netrc = environ.find((e) => e.startsWith('NETRC='))?.slice('NETRC='.length);
        if (netrc !== undefined && !scan.netrc.has(netrc)) {
          scan.netrc.set(netrc, {
            file: statSync(netrc).mode & 0o777,
            dir: statSync(dirname(netrc)).mode & 0o777,
          });
        }
      } catch {
        // The process or its file went away meanwhile.
      }
    }
    scan.sweeps++;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return scan;
}

/** Every file below `dir`, recursively. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('index credentials', () => {
  it('reach pip and its children without any command line, log, stamp or zip holding them', async () => {
    const project = TempProject.create({
      'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
index-url    = "${main.url()}"
`,
      'requirements.txt': `--extra-index-url http://__token__:\${REQ_TOKEN}@localhost:${extra.port}/simple/
alpha==1.0
./localpkg
`,
      'app/handler.py': 'def handler(event, context):\n    return "ok"\n',
    });
    try {
      await makeLocalProject(project.path('localpkg'), {
        name: 'localpkg',
        version: '0.1',
        buildRequires: ['buildhelper==1.0'],
      });
      const running = project.start(['-v'], { env: { ...NO_PIP_ENV, REQ_TOKEN } });
      const [result, scan] = await Promise.all([running.exited, scanProcesses(running.exited)]);
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(0);
      expect(scan.leaks).toEqual([]);

      // The scan watched pip work: the download, and pip's child installing build requirements.
      expect(scan.sweeps).toBeGreaterThan(10);
      const pip = [...scan.pip];
      expect(pip.some((c) => / download /.test(c))).toBe(true);
      const child = pip.find((c) => / install /.test(c) && c.includes('buildhelper'));
      expect(child, pip.join('\n')).toBeDefined();
      expect(child).toContain(`http://127.0.0.1:${main.port}/simple/`);

      // Both logins worked, the extra index's also from pip's child.
      const served = (index: IndexServer) =>
        index.requests.filter((r) => r.authorized && r.status === 200).map((r) => r.path);
      expect(served(main)).toEqual(
        expect.arrayContaining([
          '/simple/alpha/',
          '/simple/beta/',
          '/files/alpha-1.0-py3-none-any.whl',
        ]),
      );
      expect(served(extra)).toEqual(
        expect.arrayContaining(['/simple/buildhelper/', '/files/buildhelper-1.0-py3-none-any.whl']),
      );

      // The logins went through a private netrc file, gone after the run.
      expect([...scan.netrc.values()]).not.toEqual([]);
      for (const [file, modes] of scan.netrc) {
        expect(modes).toEqual({ file: 0o600, dir: 0o700 });
        expect(() => statSync(file)).toThrow();
      }

      // Nothing lbuild printed (with -v: pip's output too) or wrote holds them.
      expect(output).toContain('▶ fn:wheelhouse');
      for (const secret of SECRETS) expect(output).not.toContain(secret);
      const written = [...filesBelow(project.path('.lbuild')), ...filesBelow(project.path('dist'))];
      expect(written.length).toBeGreaterThan(5);
      for (const file of written) {
        const bytes = readFileSync(file);
        for (const secret of SECRETS) expect(bytes.includes(secret), file).toBe(false);
      }
      expect(written.filter((f) => f.endsWith('netrc'))).toEqual([]);
      const entries = execFileSync(
        'python3',
        [
          '-c',
          'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(b"".join(z.read(n) for n in z.namelist()))',
          project.path('dist/fn.zip'),
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      expect(entries.includes('def alpha') || entries.includes('__version__')).toBe(true);
      for (const secret of SECRETS) expect(entries.includes(secret)).toBe(false);
    } finally {
      project.dispose();
    }
  }, 240_000);
});
