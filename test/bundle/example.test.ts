import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lbuildBin, NO_PIP_CONFIG, REPO, TempProject, ran } from '../helpers/project.js';
import {
  NO_PIP_ENV,
  extractZip,
  inspectZip,
  invoke,
  sha256,
  unzipTest,
  zipValue,
  type ZipReport,
} from './rig.js';

/** examples/hello-lambda, copied (without build state) and built as a user would: lbuild -C DIR. */
const EXAMPLE = join(REPO, 'examples', 'hello-lambda');
let project: TempProject;
let copy: string;
let zip: string;
let report: ZipReport;
let unzipped: string;
let digest: string;

beforeAll(async () => {
  project = TempProject.create();
  copy = project.path('hello-lambda');
  cpSync(EXAMPLE, copy, {
    recursive: true,
    filter: (src) => !/[\\/](\.lbuild|dist)([\\/]|$)/.test(src.slice(EXAMPLE.length)),
  });
  // Started outside the project: -C chooses it.
  const { result, summary } = await project.json(['-C', copy], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(ran(summary)).toEqual(['hello:staging', 'hello:tree', 'hello:wheelhouse', 'hello:zip']);
  zip = join(copy, 'dist', 'hello.zip');
  digest = zipValue(summary, 'hello:zip').sha256;
  report = inspectZip(zip);
  unzipped = extractZip(zip);
});

afterAll(() => {
  rmSync(unzipped, { recursive: true, force: true });
  project.dispose();
});

describe('examples/hello-lambda built by lbuild -C', () => {
  it('writes dist/hello.zip whose SHA-256 is the one --json reports', () => {
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256(zip)).toBe(digest);
  });

  it('holds the handler package, both wheels, settings.json, and not the tests', () => {
    const names = report.entries.map((e) => e.name);
    expect(names).toEqual([
      'hello/__init__.py',
      'hello/handler.py',
      'lbuild_example_greet-1.0.0.dist-info/INSTALLER',
      'lbuild_example_greet-1.0.0.dist-info/METADATA',
      'lbuild_example_greet-1.0.0.dist-info/RECORD',
      'lbuild_example_greet-1.0.0.dist-info/WHEEL',
      'lbuild_example_greet/__init__.py',
      'lbuild_example_text-0.2.0.dist-info/INSTALLER',
      'lbuild_example_text-0.2.0.dist-info/METADATA',
      'lbuild_example_text-0.2.0.dist-info/RECORD',
      'lbuild_example_text-0.2.0.dist-info/WHEEL',
      'lbuild_example_text/__init__.py',
      'settings.json',
    ]);
    expect(names.filter((n) => n.includes('tests/'))).toEqual([]);
    expect(readFileSync(join(unzipped, 'settings.json'), 'utf8')).toBe(
      readFileSync(join(EXAMPLE, 'settings.json'), 'utf8'),
    );
    expect(readFileSync(join(unzipped, 'hello', 'handler.py'), 'utf8')).toBe(
      readFileSync(join(EXAMPLE, 'hello', 'handler.py'), 'utf8'),
    );
  });

  it('passes unzip -t', () => {
    const { status, output } = unzipTest(zip);
    expect(status, output).toBe(0);
    expect(output).toContain('No errors detected in compressed data of');
  });

  it("passes Python's zipfile: CRCs, 1980-01-01 timestamps, 0644 Unix modes, no extra fields, sorted", () => {
    expect(report.testzip).toBeNull();
    for (const entry of report.entries) {
      expect(entry.dateTime, entry.name).toEqual([1980, 1, 1, 0, 0, 0]);
      expect(entry.mode, entry.name).toBe(0o100644);
      expect(entry.createSystem, entry.name).toBe(3);
      expect(entry.extraLength, entry.name).toBe(0);
    }
    const names = report.entries.map((e) => e.name);
    expect([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(names);
  });

  it('has a handler that runs from the extracted zip and returns data', () => {
    const result = invoke('python3', unzipped, 'hello.handler.handler', { name: 'lambda' });
    expect(result).toEqual({
      message: 'Hello, Lambda!',
      versions: { 'lbuild-example-greet': '1.0.0', 'lbuild-example-text': '0.2.0' },
      request_id: null,
    });
    // The default name comes from settings.json.
    expect(invoke('python3', unzipped, 'hello.handler.handler', {})).toMatchObject({
      message: 'Hello, World!',
    });
  });

  it('is up to date on a second run (-q exits 0)', async () => {
    expect(await project.run(['-q', '-C', copy], { env: NO_PIP_ENV })).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('is answered by -q without loading node:crypto, node:zlib or the zip reader', () => {
    // What the process required, by name, as Node's module loader saw each request.
    const hook = project.path('record-requires.cjs');
    writeFileSync(
      hook,
      `const Module = require('node:module');
const load = Module._load;
const seen = new Set();
Module._load = function (request, ...rest) {
  seen.add(request);
  return load.call(this, request, ...rest);
};
process.on('exit', () => process.stderr.write(JSON.stringify([...seen])));
`,
    );
    // The full check, not its no-op trace (which the run above may have left).
    const result = spawnSync(process.execPath, ['-r', hook, lbuildBin(), '-q', '-C', copy], {
      env: { ...process.env, ...NO_PIP_CONFIG, LBUILD_NOOP_TRACE: 'off' },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const required = JSON.parse(result.stderr) as string[];
    expect(required).toContain('node:fs');
    expect(required.filter((r) => /crypto|zlib|yauzl|stream/.test(r))).toEqual([]);
  });
});
