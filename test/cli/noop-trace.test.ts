import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';

/**
 * The no-op trace (packages/cli/src/noop/trace.ts): a `-q` that answered 0 leaves a record of what
 * it saw, and the next `-q` in the same world answers 0 from it without loading the CLI bundle.
 * Every change that the full check could notice must make the next `-q` run the full check, and
 * give its answer. Which of the two ran is told by a preloaded hook that notes each compile of
 * the bundle.
 */
const CONFIG = `[target.copy]
command = "mkdir -p out && cat src/a.txt src/deep/b.txt > out/all.txt"
inputs = ["src/**/*.txt"]
outputs = ["out/all.txt"]
`;

let project: TempProject;
let home: string;
let compiled: string;
let env: Record<string, string>;

/** A wait longer than the trace's racy window (a clock tick), so what was just written counts. */
function settle(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120);
}

/** `lbuild -q`: its exit code, and whether the bundle was compiled (the full check ran). */
async function ask(
  extra: Record<string, string> = {},
): Promise<{ code: number | null; full: boolean }> {
  writeFileSync(compiled, '');
  const result = await project.run(['-q'], { env: { ...env, ...extra } });
  expect(result.stdout + result.stderr).toBe('');
  return { code: result.code, full: readFileSync(compiled, 'utf8') !== '' };
}

/** The full check's answer, with the trace turned off. */
async function fullAnswer(): Promise<number | null> {
  const result = await project.run(['-q'], { env: { ...env, LBUILD_NOOP_TRACE: 'off' } });
  return result.code;
}

function traces(): string[] {
  const dir = join(home, 'lbuild');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.trace'))
    .map((name) => join(dir, name));
}

/** Rewrites a file with other content of the same length, and puts its old mtime back. */
function sameSizeEdit(rel: string, edit: (text: string) => string): void {
  const path = project.path(rel);
  const before = statSync(path);
  const text = readFileSync(path, 'utf8');
  const changed = edit(text);
  expect(changed.length).toBe(text.length);
  expect(changed).not.toBe(text);
  writeFileSync(path, changed);
  utimesSync(path, before.atime, before.mtime);
  expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
}

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'lbuild-trace-home-'));
  compiled = join(home, 'compiled.log');
  const hook = join(home, 'note-compiles.cjs');
  writeFileSync(
    hook,
    `const vm = require('node:vm');
const { appendFileSync } = require('node:fs');
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(code, options) {
    super(code, options);
    if (String(options && options.filename).endsWith('lbuild.cjs'))
      appendFileSync(${JSON.stringify(compiled)}, 'compiled\\n');
  }
};
`,
  );
  env = { XDG_CACHE_HOME: home, NODE_OPTIONS: `--require ${hook}` };
  project = TempProject.create({
    'lbuild.toml': CONFIG,
    'src/a.txt': 'alpha\n',
    'src/deep/b.txt': 'beta\n',
  });
  // Whole-second times a minute ago, which an edit can put back exactly.
  const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  for (const rel of ['lbuild.toml', 'src/a.txt', 'src/deep/b.txt'])
    utimesSync(project.path(rel), past, past);
  expect((await project.run([], { env })).code).toBe(0);
  settle();
  // The first -q runs the full check and records; the second is answered from the trace.
  expect(await ask()).toEqual({ code: 0, full: true });
  expect(traces()).toHaveLength(1);
  expect(await ask()).toEqual({ code: 0, full: false });
});

afterEach(() => {
  project.dispose();
  rmSync(home, { recursive: true, force: true });
});

describe('lbuild -q answered from its no-op trace', () => {
  it('keeps answering 0 without the bundle while nothing changes', async () => {
    expect(await ask()).toEqual({ code: 0, full: false });
    // Touching an input (new mtime and ctime, same bytes) is a change the trace cannot judge.
    appendFileSync(project.path('src/a.txt'), '');
    utimesSync(project.path('src/a.txt'), new Date(), new Date(Date.now() + 5000));
    settle();
    expect(await ask()).toEqual({ code: 0, full: true });
    expect(await ask()).toEqual({ code: 0, full: false });
  });

  it('runs the full check after a config edit that keeps its size and mtime', async () => {
    sameSizeEdit('lbuild.toml', (text) => text.replace('out && cat', 'out ;  cat'));
    expect(await ask()).toEqual({ code: 1, full: true });
    expect(await fullAnswer()).toBe(1);
  });

  it('runs the full check after an input edit that keeps its size and mtime', async () => {
    sameSizeEdit('src/deep/b.txt', () => 'BETA\n');
    expect(await ask()).toEqual({ code: 1, full: true });
    expect(await fullAnswer()).toBe(1);
  });

  it('runs the full check when a file the glob matches is added deep down', async () => {
    project.write('src/deep/c.txt', 'gamma\n');
    expect(await ask()).toEqual({ code: 1, full: true });
  });

  it('runs the full check when an output or a stamp is gone', async () => {
    project.remove('out/all.txt');
    expect(await ask()).toEqual({ code: 1, full: true });
    expect(await project.run([], { env })).toMatchObject({ code: 0 });
    settle();
    expect(await ask()).toEqual({ code: 0, full: true });
    project.remove('.lbuild/stamps');
    expect(await ask()).toEqual({ code: 1, full: true });
  });

  it('runs the full check when the config file is replaced by a link', async () => {
    writeFileSync(project.path('other.toml'), CONFIG.replace('a.txt src', 'a.txt  src'));
    rmSync(project.path('lbuild.toml'));
    symlinkSync('other.toml', project.path('lbuild.toml'));
    expect(await ask()).toEqual({ code: 1, full: true });
    expect(await fullAnswer()).toBe(1);
  });

  it('runs the full check when any environment variable changes', async () => {
    expect(await ask({ SOME_SETTING: 'x' })).toEqual({ code: 0, full: true });
    expect(await ask({ SOME_SETTING: 'x' })).toEqual({ code: 0, full: false });
    expect(await ask({ SOME_SETTING: 'y' })).toEqual({ code: 0, full: true });
  });

  it('runs the full check from another directory or with other arguments', async () => {
    const result = await project.run(['-q', '-C', '.'], { env });
    expect(result.code).toBe(0);
    expect(readFileSync(compiled, 'utf8')).not.toBe('');
  });

  it('does not trust a damaged or foreign trace', async () => {
    const [trace] = traces();
    const text = readFileSync(trace!, 'utf8');
    for (const damaged of [
      text.slice(0, text.length - 5),
      text.replace(/\nend [0-9a-f]+\n$/, '\n'),
      text.replace(/\nend [0-9a-f]+\n$/, '\nend\n'),
      // One record's path pointed elsewhere, where the same answer is found: the checksum tells.
      text.replace(/\ns\t(\d+)\t/, (_, n: string) => `\ns\t${String(Number(n) + 1)}\t`),
      text.replace(/\t[^\t\n]+\n/, '\tnonsense\n'),
      'garbage',
      '',
    ]) {
      expect(damaged).not.toBe(text);
      writeFileSync(trace!, damaged);
      expect(await ask()).toEqual({ code: 0, full: true });
    }
    // A trace made for another record count or another key is not read as this one.
    const lines = text.split('\n');
    lines[3] = String(Number(lines[3]) + 1);
    writeFileSync(trace!, lines.join('\n'));
    expect(await ask()).toEqual({ code: 0, full: true });
  });

  it('records nothing when the answer is 1', async () => {
    for (const path of traces()) rmSync(path);
    project.write('src/a.txt', 'changed\n');
    settle();
    expect(await ask()).toEqual({ code: 1, full: true });
    expect(traces()).toEqual([]);
    expect(await ask()).toEqual({ code: 1, full: true });
  });

  it('keeps the newest 64 other traces when it writes one', async () => {
    // Named as traces of other projects would be: the name of this one, with another hash.
    const [own] = traces();
    const named = (i: number) =>
      own!.replace(/[0-9a-f]{16}\.trace$/, `${String(i).padStart(16, '0')}.trace`);
    const old = new Date(Date.now() - 3_600_000);
    for (let i = 0; i < 70; i++) {
      const file = named(i);
      writeFileSync(file, 'old');
      utimesSync(file, old, new Date(old.getTime() + i * 1000));
    }
    project.write('src/a.txt', 'changed\n');
    expect(await project.run([], { env })).toMatchObject({ code: 0 });
    settle();
    expect(await ask()).toEqual({ code: 0, full: true });
    const left = traces();
    expect(left).toHaveLength(65);
    // The oldest went first.
    expect(left).not.toContain(named(0));
    expect(left).toContain(named(69));
  });
});
