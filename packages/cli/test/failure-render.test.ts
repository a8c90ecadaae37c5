import { describe, expect, it } from 'vitest';
import type { DescribedFailure, Failure, FailureKind, ZipTooLarge } from '@lbuild/core';
import { EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED, exitCodeForFailure } from '../src/exit-code.js';
import { colorsFor } from '../src/render/colors.js';
import { failureJson, failureText, formatFailure } from '../src/render/failure.js';

/**
 * One failure of each shape the union has: every failure that carries data (each of its
 * variants) and one said in words of each kind. `satisfies` makes a new data-carrying reason
 * without a sample here a type error, as a new one without a case is in the renderer.
 */
const UNZIPPED: ZipTooLarge = {
  kind: 'config',
  reason: 'zip-too-large',
  limit: 'max-unzipped-size',
  size: 262_144_001,
  max: 262_144_000,
  table: 'bundle.api',
};
const DIRECT: ZipTooLarge = {
  kind: 'config',
  reason: 'zip-too-large',
  limit: 'direct-upload-limit',
  size: 1234,
  max: 1000,
  table: 'function.api',
};

const carryingData = {
  'zip-too-large': [UNZIPPED, DIRECT],
  interrupted: [{ kind: 'interrupted', reason: 'interrupted', during: 'lock-wait' }],
} satisfies {
  [R in Exclude<Failure['reason'], DescribedFailure['reason']>]: Extract<Failure, { reason: R }>[];
};

const described = {
  config: { kind: 'config', reason: 'unknown-key', message: 'unknown key `x`', hint: 'drop it' },
  build: { kind: 'build', reason: 'exit-non-zero', message: '`false` exited with 1' },
  internal: { kind: 'internal', reason: 'internal-error', message: 'boom' },
} satisfies { [K in FailureKind]?: DescribedFailure };

const EXIT: Record<FailureKind, number> = {
  config: EXIT_ERROR,
  build: EXIT_FAILED,
  internal: EXIT_ERROR,
  interrupted: EXIT_INTERRUPTED,
};

const samples: Failure[] = [...Object.values(carryingData).flat(), ...Object.values(described)];

describe('the failure renderer', () => {
  it.each(samples.map((f) => [`${f.reason} (${f.kind})`, f] as const))(
    '%s: has words, one exit status by kind, and the same words for people and for --json',
    (_name, failure) => {
      const text = failureText(failure);
      expect(text.message).not.toBe('');
      expect(JSON.stringify(text)).not.toMatch(/undefined|NaN|\[object/);
      expect(exitCodeForFailure(failure)).toBe(EXIT[failure.kind]);
      const json = failureJson(failure);
      expect(json).toMatchObject({ ...failure, ...text });
      const shown = formatFailure(failure, colorsFor({ isTTY: false } as never), '/');
      expect(shown.split('\n')[0]).toBe(`error: ${text.message}`);
      if (text.hint) expect(shown).toContain(`\n  hint: ${text.hint}`);
    },
  );

  it('covers every kind of failure', () => {
    expect(new Set(samples.map((f) => f.kind))).toEqual(new Set(Object.keys(EXIT)));
  });

  it('says a zip too large for either limit in one form, naming the key and the fix', () => {
    expect(failureText(UNZIPPED)).toEqual({
      message:
        'the zip for [bundle.api] is 262144001 bytes unzipped, over max-unzipped-size = 262144000',
      hint: 'drop dependencies or files you do not need, or raise max-unzipped-size if your deployment allows more (Lambda allows 250 MB unzipped, container images more)',
    });
    expect(failureText(DIRECT)).toEqual({
      message: 'the zip for [function.api] is 1234 bytes, over direct-upload-limit = 1000',
      hint: 'Lambda takes a zip this large only through S3: add s3-bucket = "BUCKET" to [function.api] (a bucket in the function\'s region)',
    });
  });
});
