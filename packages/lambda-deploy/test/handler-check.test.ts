import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkHandlerInZip } from '../src/index.js';
import { writeZip } from './helpers.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'handler-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(files: Record<string, string>, handler: string, runtime = 'python3.12') {
  const zip = await writeZip(dir, `bundle-${++n}.zip`, files);
  return checkHandlerInZip(zip.path, handler, runtime);
}

const APP = `import json

LOG = None

def helper(x):
    return x

def handler(event, context):
    return {"ok": True}

async def main(event, context):
    pass
`;

describe('found', () => {
  test('module.function in a top-level module', async () => {
    expect(await check({ 'app.py': APP }, 'app.handler')).toEqual({
      ok: true,
      moduleFile: 'app.py',
    });
    expect(await check({ 'app.py': APP }, 'app.main')).toEqual({ ok: true, moduleFile: 'app.py' });
  });

  test('nested modules, with dots or slashes, and packages', async () => {
    const files = {
      'pkg/__init__.py': '',
      'pkg/api/__init__.py': 'from .routes import handler\n',
      'pkg/api/routes.py': APP,
    };
    expect(await check(files, 'pkg.api.routes.handler')).toEqual({
      ok: true,
      moduleFile: 'pkg/api/routes.py',
    });
    expect(await check(files, 'pkg/api/routes.handler')).toEqual({
      ok: true,
      moduleFile: 'pkg/api/routes.py',
    });
    expect(await check(files, 'pkg.api.handler')).toEqual({
      ok: true,
      moduleFile: 'pkg/api/__init__.py',
    });
  });

  test('assignments, annotated assignments, classes and aliased, parenthesised imports', async () => {
    const src = `from mangum import Mangum
from .impl import (
    one,
    two as lambda_handler,
)
import tools.x as tool_handler
app = object()
typed: object = app
mangled = Mangum(app)
class Handler:
    pass
`;
    for (const fn of ['mangled', 'typed', 'lambda_handler', 'tool_handler', 'Handler', 'one']) {
      expect(await check({ 'main.py': src }, `main.${fn}`)).toMatchObject({ ok: true });
    }
  });

  test('compiled and sourceless modules are accepted without looking inside', async () => {
    expect(await check({ 'fast.cpython-312-x86_64-linux-gnu.so': 'ELF' }, 'fast.handler')).toEqual({
      ok: true,
      moduleFile: 'fast.cpython-312-x86_64-linux-gnu.so',
      note: 'fast.cpython-312-x86_64-linux-gnu.so is compiled: function handler not checked',
    });
    expect(await check({ 'app.pyc': 'x' }, 'app.handler')).toMatchObject({
      ok: true,
      moduleFile: 'app.pyc',
    });
  });

  test('conditional definitions and star imports pass with a note', async () => {
    const conditional =
      'try:\n    from fast import handler\nexcept ImportError:\n    def handler(e, c):\n        pass\n';
    expect(await check({ 'app.py': conditional }, 'app.handler')).toEqual({
      ok: true,
      moduleFile: 'app.py',
      note: 'handler is only defined inside a block; assuming it is bound at import time',
    });
    expect(await check({ 'app.py': 'from impl import *\n' }, 'app.handler')).toEqual({
      ok: true,
      moduleFile: 'app.py',
      note: 'handler may come from a star import; not verified',
    });
  });

  test('runtimes other than Python are not checked', async () => {
    expect(await check({ 'index.js': '' }, 'index.handler', 'nodejs22.x')).toMatchObject({
      ok: true,
    });
  });
});

describe('missing, before any network call', () => {
  test('a typo in the function name names the functions there and the close match', async () => {
    const result = await check({ 'app.py': APP }, 'app.handlr');
    expect(result).toEqual({
      ok: false,
      failure: {
        reason: 'handler-not-found',
        kind: 'config',
        message: `handler "app.handlr": app.py in bundle-${n}.zip has no top-level function handlr (functions defined there: helper, handler, main)`,
        hint: 'did you mean handler = "app.handler"?',
      },
    });
  });

  test('a name that only appears in a string or comment does not count', async () => {
    const src =
      '# def handler(event, context):\nDOC = "def handler(e, c):"\ndef main(e, c):\n    pass\n';
    const result = await check({ 'app.py': src }, 'app.handler');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.failure.message).toBe(
        `handler "app.handler": app.py in bundle-${n}.zip has no top-level function handler (functions defined there: main)`,
      );
      expect(result.failure.hint).toBe(
        'define def handler(event, context): in app.py, or point handler at a function that exists',
      );
    }
  });

  test('a typo in the module name says what was looked for and suggests the close one', async () => {
    const result = await check({ 'app.py': APP, 'util.py': '' }, 'ap.handler');
    expect(result).toEqual({
      ok: false,
      failure: {
        reason: 'handler-not-found',
        kind: 'config',
        message: `handler "ap.handler": module ap is not in bundle-${n}.zip (looked for ap.py, ap/__init__.py and ap.*.so)`,
        hint: 'did you mean handler = "app.handler"?',
      },
    });
  });

  test('a module in a subfolder suggests the dotted path', async () => {
    const result = await check({ 'src/service.py': APP }, 'service.handler');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.failure.hint).toBe(
        'src/service.py is in src/ inside the zip: use handler = "src.service.handler", or put the module at the top of the zip',
      );
    }
  });

  test('nothing close: lists the top-level modules', async () => {
    const result = await check(
      { 'app.py': APP, 'util.py': '', 'pkg/__init__.py': '' },
      'zzzzzz.handler',
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.failure.hint).toBe('Python modules at the top of the zip: app, pkg, util');
  });

  test('a handler that is not MODULE.FUNCTION', async () => {
    const result = await check({ 'app.py': APP }, 'handler');
    expect(result).toEqual({
      ok: false,
      failure: {
        reason: 'handler-invalid',
        kind: 'config',
        message:
          'handler "handler" is not a Python handler: Lambda expects MODULE.FUNCTION, e.g. "app.handler" for def handler(event, context) in app.py',
        hint: 'set handler = "MODULE.FUNCTION"',
      },
    });
  });
});

describe('modules from layers', () => {
  const layerZip = async (files: Record<string, string>) => ({
    label: 'layer deps',
    path: (await writeZip(dir, `layer-${++n}.zip`, files)).path,
  });

  test('under python/ or python/lib/python3.X/site-packages/ of a layer; the zip first', async () => {
    const bundle = await writeZip(dir, `bundle-${++n}.zip`, { 'app.py': APP });
    const flat = await layerZip({ 'python/vendor/entry.py': APP });
    expect(
      await checkHandlerInZip(bundle.path, 'vendor.entry.handler', 'python3.12', { zips: [flat] }),
    ).toEqual({ ok: true, moduleFile: `python/vendor/entry.py in layer deps` });
    const site = await layerZip({
      'python/lib/python3.12/site-packages/vendor/__init__.py': APP,
    });
    expect(
      await checkHandlerInZip(bundle.path, 'vendor.main', 'python3.12', { zips: [site] }),
    ).toEqual({
      ok: true,
      moduleFile: 'python/lib/python3.12/site-packages/vendor/__init__.py in layer deps',
    });
    // The function's own module wins: it comes first on sys.path.
    const shadow = await layerZip({ 'python/app.py': 'X = 1\n' });
    expect(
      await checkHandlerInZip(bundle.path, 'app.handler', 'python3.12', { zips: [shadow] }),
    ).toEqual({ ok: true, moduleFile: 'app.py' });
  });

  test('a module outside python/ is not on sys.path; a missing function in a layer module is named', async () => {
    const bundle = await writeZip(dir, `bundle-${++n}.zip`, { 'app.py': APP });
    const wrong = await layerZip({ 'vendor/entry.py': APP, 'python/tool.py': 'X = 1\n' });
    const missing = await checkHandlerInZip(bundle.path, 'vendor.entry.handler', 'python3.12', {
      zips: [wrong],
    });
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.failure.message).toBe(
        'handler "vendor.entry.handler": module vendor.entry is not in ' +
          `${bundle.path.split('/').pop() ?? ''} or under python/ in layer deps (looked for vendor/entry.py, vendor/entry/__init__.py and vendor/entry.*.so)`,
      );
    }
    const noFunction = await checkHandlerInZip(bundle.path, 'tool.run', 'python3.12', {
      zips: [wrong],
    });
    expect(noFunction.ok).toBe(false);
    if (!noFunction.ok) {
      expect(noFunction.failure.message).toBe(
        'handler "tool.run": python/tool.py in layer deps has no top-level function run (it defines no top-level functions)',
      );
    }
  });

  test('layers given by ARN cannot be looked into: a module not found is let through, noted', async () => {
    const bundle = await writeZip(dir, `bundle-${++n}.zip`, { 'app.py': APP });
    const arn = 'arn:aws:lambda:us-east-1:123456789012:layer:other:3';
    expect(
      await checkHandlerInZip(bundle.path, 'vendor.entry.handler', 'python3.12', { unseen: [arn] }),
    ).toEqual({
      ok: true,
      moduleFile: '',
      note: `module vendor.entry is not in ${bundle.path.split('/').pop() ?? ''}; it may come from ${arn} (not checked)`,
    });
  });
});
