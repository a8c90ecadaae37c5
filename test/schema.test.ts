import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LBUILD, REPO } from './helpers/project.js';

describe('the published JSON Schema', () => {
  it('is what `lbuild schema` prints (regenerate: lbuild schema > schema/lbuild.schema.json)', () => {
    const printed = execFileSync(process.execPath, [LBUILD, 'schema'], { encoding: 'utf8' });
    expect(readFileSync(join(REPO, 'schema', 'lbuild.schema.json'), 'utf8')).toBe(printed);
  });

  it('knows every table and rejects unknown top-level keys', () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'schema', 'lbuild.schema.json'), 'utf8')) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties).sort()).toEqual([
      'bundle',
      'cache',
      'default',
      'function',
      'layer',
      'target',
    ]);
    expect(schema.additionalProperties).toBe(false);
  });
});
