import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ran, type TempProject } from '../helpers/project.js';
import { SYSTEM_PYTHON } from '../fixtures/python/wheels.js';
import {
  CEXT_PYTHON,
  MACHINE,
  NO_PIP_ENV,
  Template,
  extractZip,
  inspectZip,
  invoke,
  sha256,
  unzipTest,
  zipValue,
  type ZipReport,
} from './rig.js';

/**
 * What goes into the zip of a project with a pinned dependency chain (alpha → beta → gamma), a
 * local path requirement (./localpkg, built by pip through its in-tree backend) and, where
 * Debian's Python can compile it, a real C-extension wheel for a runtime of this machine's
 * Python version (retagged manylinux, so that pip downloads it for the runtime).
 */
let template: Template;
let project: TempProject;
let zip: string;
let report: ZipReport;
let unzipped: string;

beforeAll(async () => {
  template = await Template.create(
    CEXT_PYTHON === undefined ? {} : { python: CEXT_PYTHON, cext: true },
  );
  project = template.project();
  const { result, summary } = await project.json([], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
  zip = project.path('dist/fn.zip');
  expect(zipValue(summary).sha256).toBe(sha256(zip));
  report = inspectZip(zip);
  unzipped = extractZip(zip);
}, 120_000);

afterAll(() => {
  rmSync(unzipped, { recursive: true, force: true });
  project.dispose();
  template.dispose();
});

describe('a bundle of pinned wheels, a local project and sources', () => {
  it('holds every wheel of the dependency chain, the local project, the sources and settings.json', () => {
    const names = report.entries.map((e) => e.name);
    const expected = [
      'alpha-1.0.dist-info/INSTALLER',
      'alpha-1.0.dist-info/METADATA',
      'alpha-1.0.dist-info/RECORD',
      'alpha-1.0.dist-info/WHEEL',
      'alpha/__init__.py',
      'app/__init__.py',
      'app/handler.py',
      'beta-2.0.dist-info/INSTALLER',
      'beta-2.0.dist-info/METADATA',
      'beta-2.0.dist-info/RECORD',
      'beta-2.0.dist-info/WHEEL',
      'beta/__init__.py',
      'gamma-3.0.dist-info/INSTALLER',
      'gamma-3.0.dist-info/METADATA',
      'gamma-3.0.dist-info/RECORD',
      'gamma-3.0.dist-info/WHEEL',
      'gamma/__init__.py',
      'localpkg-0.1.dist-info/INSTALLER',
      'localpkg-0.1.dist-info/METADATA',
      'localpkg-0.1.dist-info/RECORD',
      'localpkg-0.1.dist-info/WHEEL',
      'localpkg/__init__.py',
      'settings.json',
    ];
    expect(names.filter((n) => !n.startsWith('cext_fixture') && n !== 'app/native.py')).toEqual(
      expected,
    );
    expect(names.filter((n) => n.includes('tests/'))).toEqual([]);
    expect(unzipTest(zip).status).toBe(0);
    expect(report.testzip).toBeNull();
    expect(new Set(report.entries.map((e) => e.dateTime.join(',')))).toEqual(
      new Set(['1980,1,1,0,0,0']),
    );
  });

  it('has a handler that imports the whole chain and the local project from the extracted zip', () => {
    expect(invoke('python3', unzipped, 'app.handler.handler', { id: 7 })).toEqual({
      alpha: 'alpha+beta+gamma',
      local: 'local+gamma',
      settings: { greeting: 'hello' },
      event: { id: 7 },
    });
  });

  it.skipIf(CEXT_PYTHON === undefined)(
    'carries the C extension: its .so is in the zip, byte for byte, and imports',
    () => {
      const so = report.entries.filter((e) => e.name.endsWith('.so'));
      expect(so.map((e) => e.name)).toEqual([
        `cext_fixture/_speedups.cpython-${(CEXT_PYTHON ?? '').replace('.', '')}-${MACHINE}-linux-gnu.so`,
      ]);
      expect(so[0]!.size).toBeGreaterThan(1000);
      expect(so[0]!.mode).toBe(0o100644);
      expect(sha256(`${unzipped}/${so[0]!.name}`)).toBe(so[0]!.sha256);
      // The runtime is this machine's Python version, so the compiled module loads here.
      const result = invoke(SYSTEM_PYTHON, unzipped, 'app.native.handler', { a: 2, b: 40 }) as {
        sum: number;
        so: string;
      };
      expect(result.sum).toBe(42);
      expect(result.so).toBe(`${unzipped}/${so[0]!.name}`);
    },
  );
});
