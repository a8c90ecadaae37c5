import { describe, expect, it } from 'vitest';
import { rankHandlers } from '../../src/init/handlers.js';
import { gitignoreAddition } from '../../src/init/render.js';

describe('gitignoreAddition', () => {
  const entries = ['.lbuild/', '/dist/api.zip'];

  it('creates the lines when there is no .gitignore', () => {
    expect(gitignoreAddition(undefined, entries)).toBe(
      '# lbuild: build state and outputs\n.lbuild/\n/dist/api.zip\n',
    );
  });

  it('adds nothing that an existing line, or a folder above it, already ignores', () => {
    expect(gitignoreAddition('/.lbuild\ndist/\n', entries)).toBe('');
    expect(gitignoreAddition('.lbuild/', entries)).toBe(
      '\n\n# lbuild: build state and outputs\n/dist/api.zip\n',
    );
    // A comment or a negation is not a pattern that ignores.
    expect(gitignoreAddition('# .lbuild/\n!dist/api.zip\n', entries)).toBe(
      '\n# lbuild: build state and outputs\n.lbuild/\n/dist/api.zip\n',
    );
  });
});

describe('rankHandlers', () => {
  it('prefers handler and lambda_handler, then app.py and lambda_function.py, then the shallowest file', () => {
    const ranked = rankHandlers([
      { file: 'pkg/jobs.py', name: 'run', line: 1 },
      { file: 'src/app.py', name: 'lambda_handler', line: 9 },
      { file: 'pkg/deep/handler.py', name: 'handler', line: 3 },
      { file: 'pkg/handler.py', name: 'handler', line: 3 },
    ]);
    expect(ranked.map((h) => `${h.file}:${h.name}`)).toEqual([
      'pkg/handler.py:handler',
      'pkg/deep/handler.py:handler',
      'src/app.py:lambda_handler',
      'pkg/jobs.py:run',
    ]);
  });
});
