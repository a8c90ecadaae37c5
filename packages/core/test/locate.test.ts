import { describe, expect, it } from 'vitest';
import { locateKey, splitKey } from '../src/config/locate.js';

const toml = (...lines: string[]) => lines.join('\n') + '\n';

describe('locateKey', () => {
  const source = toml(
    '# lbuild.toml',
    'default = ["test"]',
    '',
    '[target.compile]',
    'command = "make"',
    '  inputs = ["src/**/*.py"]',
    '',
    '[target.test]',
    '# [target.lint] is only a comment',
    'command = "pytest"',
    'ouputs = []',
  );

  it('finds a table header', () => {
    expect(locateKey(source, ['target', 'test'])).toEqual({ line: 8, column: 1 });
  });

  it('finds a key inside a table, at its first character', () => {
    expect(locateKey(source, ['target', 'test', 'ouputs'])).toEqual({ line: 11, column: 1 });
    expect(locateKey(source, ['target', 'compile', 'inputs'])).toEqual({ line: 6, column: 3 });
    expect(locateKey(source, ['default'])).toEqual({ line: 2, column: 1 });
  });

  it('falls back to the nearest enclosing table for a key that is not written (a missing key)', () => {
    expect(locateKey(source, ['target', 'test', 'outputs'])).toEqual({ line: 8, column: 1 });
  });

  it('points at an array element by its key', () => {
    expect(locateKey(source, ['target', 'compile', 'inputs', '0'])).toEqual({ line: 6, column: 3 });
  });

  it('ignores comments', () => {
    expect(locateKey(source, ['target', 'lint'])).toBeUndefined();
  });

  it('finds nothing for a key outside every table', () => {
    expect(locateKey(source, ['nothing'])).toBeUndefined();
  });

  it('finds a key introduced by a deeper header or dotted key', () => {
    expect(
      locateKey(toml('default = []', '', '[targets.a]', 'command = "x"'), ['targets']),
    ).toEqual({ line: 3, column: 1 });
    expect(locateKey(toml('targets.a.command = "x"'), ['targets'])).toEqual({ line: 1, column: 1 });
  });

  it('follows dotted keys, at the top level and inside tables', () => {
    const dotted = toml(
      'target.compile.command = "make"',
      'target.compile.ouputs = []',
      '[target]',
      'test.command = "pytest"',
    );
    expect(locateKey(dotted, ['target', 'compile', 'ouputs'])).toEqual({ line: 2, column: 1 });
    expect(locateKey(dotted, ['target', 'test', 'command'])).toEqual({ line: 4, column: 1 });
  });

  it('follows quoted keys', () => {
    const quoted = toml('[target."my.app"]', "'odd key' = 1", 'command = "x"');
    expect(locateKey(quoted, ['target', 'my.app', 'command'])).toEqual({ line: 3, column: 1 });
    expect(locateKey(quoted, ['target', 'my.app', 'odd key'])).toEqual({ line: 2, column: 1 });
  });

  it('looks inside inline tables, pointing at the key', () => {
    const inline = toml('[target]', 'test = { command = "pytest", ouputs = [] }');
    expect(locateKey(inline, ['target', 'test'])).toEqual({ line: 2, column: 1 });
    expect(locateKey(inline, ['target', 'test', 'ouputs'])).toEqual({
      line: 2,
      column: 'test = { command = "pytest", '.length + 1,
    });
    expect(
      locateKey(toml('[target.x]', 'env = {ouputs = 1}'), ['target', 'x', 'env', 'ouputs']),
    ).toEqual({ line: 2, column: 'env = {'.length + 1 });
  });

  it('finds [tool.lbuild] tables in pyproject.toml', () => {
    const pyproject = toml(
      '[project]',
      'name = "demo"',
      '',
      '[tool.lbuild.target.test]',
      'command = "pytest"',
      'ouputs = []',
    );
    expect(locateKey(pyproject, ['tool', 'lbuild', 'target', 'test', 'ouputs'])).toEqual({
      line: 6,
      column: 1,
    });
    expect(locateKey(pyproject, ['tool', 'lbuild'])).toEqual({ line: 4, column: 1 });
  });

  it('reads arrays of tables and CRLF line endings', () => {
    expect(locateKey('[[plugin]]\r\nname = "x"\r\n', ['plugin', 'name'])).toEqual({
      line: 2,
      column: 1,
    });
  });
});

describe('locateKey in a file of many tables', () => {
  // Tables of one kind in a row, as a project of many bundles writes them, and keys found
  // before and after them, in another table kind, and inline.
  const tables = Array.from({ length: 30 }, (_, i) =>
    toml(
      `[bundle.fn${String(i)}]`,
      'requirements = "requirements.txt"',
      `files = { "settings.json" = "settings.json" }`,
    ),
  );
  const source = toml('default = ["fn0"]', '', ...tables, '[target.test]', 'command = "pytest"');

  it('finds the key of each table at its own line, inline keys and keys outside the tables too', () => {
    for (const i of [0, 1, 17, 29]) {
      const header = 3 + i * 4;
      expect(locateKey(source, ['bundle', `fn${String(i)}`])).toEqual({ line: header, column: 1 });
      expect(locateKey(source, ['bundle', `fn${String(i)}`, 'requirements'])).toEqual({
        line: header + 1,
        column: 1,
      });
      expect(locateKey(source, ['bundle', `fn${String(i)}`, 'files', 'settings.json'])).toEqual({
        line: header + 2,
        column: 11,
      });
      // Not written: the table it belongs in.
      expect(locateKey(source, ['bundle', `fn${String(i)}`, 'python'])).toEqual({
        line: header,
        column: 1,
      });
    }
    expect(locateKey(source, ['default'])).toEqual({ line: 1, column: 1 });
    expect(locateKey(source, ['bundle'])).toEqual({ line: 3, column: 1 });
    expect(locateKey(source, ['target', 'test', 'command'])).toEqual({ line: 124, column: 1 });
    expect(locateKey(source, ['bundle', 'fn30'])).toBeUndefined();
  });
});

describe('splitKey', () => {
  it('splits bare, quoted and dotted keys', () => {
    expect(splitKey('target.test')).toEqual(['target', 'test']);
    expect(splitKey('target . "my.app" . \'x y\'')).toEqual(['target', 'my.app', 'x y']);
  });
});
