import { describe, expect, it } from 'vitest';
import {
  VersionSyntaxError,
  compareVersions,
  formatSpecifierSet,
  formatVersion,
  parseSpecifier,
  parseSpecifierSet,
  parseVersion,
  specifierContains,
  specifierSetContains,
} from '../../src/pip/pep440.js';

const norm = (text: string) => {
  const v = parseVersion(text);
  return v === undefined ? undefined : formatVersion(v);
};

const order = (a: string, b: string) =>
  Math.sign(compareVersions(parseVersion(a)!, parseVersion(b)!));

const holds = (spec: string, version: string) => specifierContains(parseSpecifier(spec), version);

describe('parseVersion', () => {
  it('normalises the spellings the specification permits', () => {
    expect(norm('1.0')).toBe('1.0');
    expect(norm(' v1.0 ')).toBe('1.0');
    expect(norm('1.0.ALPHA1')).toBe('1.0a1');
    expect(norm('1.0-beta.2')).toBe('1.0b2');
    expect(norm('1.0c1')).toBe('1.0rc1');
    expect(norm('1.0preview3')).toBe('1.0rc3');
    expect(norm('1.0a')).toBe('1.0a0');
    expect(norm('1.0-1')).toBe('1.0.post1');
    expect(norm('1.0-r1')).toBe('1.0.post1');
    expect(norm('1.0.rev')).toBe('1.0.post0');
    expect(norm('1.0dev')).toBe('1.0.dev0');
    expect(norm('1!2.0_pre2.post3-dev4+Ubuntu-1.002')).toBe('1!2.0rc2.post3.dev4+ubuntu.1.2');
    expect(norm('01.002.0003')).toBe('1.2.3');
    // Larger than a double holds exactly.
    expect(norm('1.99999999999999999999')).toBe('1.99999999999999999999');
  });

  it('rejects what is no version', () => {
    for (const bad of [
      '',
      'abc',
      '1.0.',
      '1..0',
      '1.0+',
      '1.0+a..b',
      '1.0-',
      '1.0 1',
      '1.0.*',
      '=1.0',
    ])
      expect(parseVersion(bad), bad).toBeUndefined();
  });
});

describe('compareVersions', () => {
  it('orders dev, pre, final, local and post releases as the specification does', () => {
    const ascending = [
      '0.9',
      '1.0.dev0',
      '1.0.dev1',
      '1.0a1.dev0',
      '1.0a1',
      '1.0a1.post1',
      '1.0a2',
      '1.0b1',
      '1.0rc1',
      '1.0',
      '1.0+abc',
      '1.0+abc.1',
      '1.0+1',
      '1.0.post1.dev0',
      '1.0.post1',
      '1.0.post2',
      '1.0.1',
      '1.1.dev0',
      '2',
      '1!0.1',
    ];
    for (let i = 0; i < ascending.length - 1; i++)
      expect(order(ascending[i]!, ascending[i + 1]!), `${ascending[i]} < ${ascending[i + 1]}`).toBe(
        -1,
      );
  });

  it('ignores trailing zeros of the release and spelling', () => {
    expect(order('1.0', '1.0.0')).toBe(0);
    expect(order('1', '1.0.0.0')).toBe(0);
    expect(order('1.0alpha1', '1.0a1')).toBe(0);
    expect(order('1.0+local', '1.0')).toBe(1);
  });

  it('compares numbers by value, not as text', () => {
    expect(order('1.10', '1.9')).toBe(1);
    expect(order('3.12', '3.9')).toBe(1);
    expect(order('20240101', '9999')).toBe(1);
  });
});

describe('specifierContains', () => {
  it('== compares with zero padding and ignores a local label the specifier does not name', () => {
    expect(holds('==1.0', '1.0.0')).toBe(true);
    expect(holds('==1.0', '1.0+local')).toBe(true);
    expect(holds('==1.0+local', '1.0')).toBe(false);
    expect(holds('==1.0+local', '1.0+LOCAL')).toBe(true);
    expect(holds('==1.0', '1.0.post1')).toBe(false);
    expect(holds('==1.0', '1.0a1')).toBe(false);
    expect(holds('!=1.0', '1.0.0')).toBe(false);
    expect(holds('!=1.0', '1.0.1')).toBe(true);
  });

  it('==V.* is a prefix match with the candidate zero-padded', () => {
    expect(holds('==1.1.*', '1.1.post1')).toBe(true);
    expect(holds('==1.1.*', '1.1a1')).toBe(true);
    expect(holds('==1.1.*', '1.1')).toBe(true);
    expect(holds('==1.1.*', '1.10')).toBe(false);
    expect(holds('==1.0.*', '1')).toBe(true);
    expect(holds('==1.0.0.*', '1.0')).toBe(true);
    expect(holds('==3.*', '3.12.0')).toBe(true);
    expect(holds('==1.*', '1!1.0')).toBe(false);
    expect(holds('==1.1.*', '1.1+local')).toBe(true);
    expect(holds('!=3.12.*', '3.12.4')).toBe(false);
    expect(holds('!=3.12.*', '3.13')).toBe(true);
    // The specification allows a pre- or post-release in a prefix (only dev and local are not).
    expect(holds('==1.0rc1.*', '1.0rc1.post1')).toBe(true);
    expect(holds('==1.0rc1.*', '1.0rc2')).toBe(false);
  });

  it('~= is >= V and == V without its last release segment', () => {
    expect(holds('~=2.2', '2.3')).toBe(true);
    expect(holds('~=2.2', '3.0')).toBe(false);
    expect(holds('~=2.2', '2.1')).toBe(false);
    expect(holds('~=1.4.5', '1.4.9')).toBe(true);
    expect(holds('~=1.4.5', '1.5.0')).toBe(false);
    expect(holds('~=1.4.5a4', '1.4.5')).toBe(true);
    expect(holds('~=1.4.5a4', '1.4.5a3')).toBe(false);
    expect(holds('~=2.2.post3', '2.9')).toBe(true);
    expect(holds('~=2.2.post3', '2.2')).toBe(false);
    expect(holds('~=2.2.0', '2.3')).toBe(false);
    expect(holds('~=3.10', '3.12')).toBe(true);
    expect(holds('~=1!2.0', '2.5')).toBe(false);
  });

  it('<= and >= ignore the local label', () => {
    expect(holds('<=1.0', '1.0+local')).toBe(true);
    expect(holds('>=1.0', '1.0+local')).toBe(true);
    expect(holds('>=1.0', '1.0rc1')).toBe(false);
    expect(holds('>=3.12', '3.12.0')).toBe(true);
    expect(holds('<=3.11', '3.11.7')).toBe(false);
  });

  it('<V excludes pre-releases of V unless V is one', () => {
    expect(holds('<1.0', '0.9')).toBe(true);
    expect(holds('<1.0', '1.0rc1')).toBe(false);
    expect(holds('<1.0', '1.0.dev0')).toBe(false);
    expect(holds('<1.0', '0.9a1')).toBe(true);
    expect(holds('<1.0rc2', '1.0rc1')).toBe(true);
    expect(holds('<1.0', '1.0')).toBe(false);
    expect(holds('<3.11', '3.10.13')).toBe(true);
  });

  it('>V excludes post-releases and local versions of V unless V is a post-release', () => {
    expect(holds('>1.0', '1.0.post1')).toBe(false);
    expect(holds('>1.0', '1.0+local')).toBe(false);
    expect(holds('>1.0', '1.0.1')).toBe(true);
    expect(holds('>1.0.post1', '1.0.post2')).toBe(true);
    expect(holds('>1.0.dev0', '1.0')).toBe(true);
    expect(holds('>1.0a1', '1.0a2+local')).toBe(true);
    expect(holds('>3.9', '3.12')).toBe(true);
  });

  it('=== is case-insensitive equality of the text as written', () => {
    expect(holds('===1.0', '1.0')).toBe(true);
    expect(holds('===1.0', '1.0.0')).toBe(false);
    expect(holds('===1.0A1', '1.0a1')).toBe(true);
    expect(holds('===1.0a1', '1.0.alpha1')).toBe(false);
    expect(holds('===foobar', 'FooBar')).toBe(true);
  });

  it('takes pre-releases (choosing among candidates is not its business)', () => {
    expect(holds('>=1.0', '2.0rc1')).toBe(true);
    expect(holds('==2.*', '2.1.dev3')).toBe(true);
  });

  it('a candidate that is no valid version satisfies only ===', () => {
    expect(holds('>=1.0', 'not-a-version')).toBe(false);
    expect(holds('!=1.0', 'not-a-version')).toBe(false);
    expect(holds('===not-a-version', 'not-a-version')).toBe(true);
  });
});

describe('parseSpecifier and parseSpecifierSet', () => {
  it('accepts spaces after the operator and every operator', () => {
    for (const op of ['~=', '==', '!=', '<=', '>=', '<', '>', '==='])
      expect(parseSpecifier(` ${op} 1.2 `).operator).toBe(op);
    expect(parseSpecifier('== 1.2.*')).toMatchObject({
      operator: '==',
      text: '1.2',
      wildcard: true,
    });
  });

  it('rejects what the specification forbids, saying why', () => {
    const bad: [string, RegExp][] = [
      ['1.0', /does not start with a comparison/],
      ['>=', /has no version/],
      ['>=1.0.*', /only == and != take/],
      ['~=1.*', /only == and != take/],
      ['==1.0.dev1.*', /dev release or a local label/],
      ['==1.0+x.*', /not a valid version|dev release or a local label/],
      ['>=1.0+local', /local version label is only allowed/],
      ['~=1', /at least two release segments/],
      ['==foo', /not a valid version/],
      ['=== a b', /takes one word/],
      ['=>1.0', /does not start with a comparison/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseSpecifier(text), text).toThrow(VersionSyntaxError);
      expect(() => parseSpecifier(text), text).toThrow(why);
    }
  });

  it('a set holds when every clause does; the empty set always holds', () => {
    const set = parseSpecifierSet('>=1.0, !=1.3.*, <2');
    expect(formatSpecifierSet(set)).toBe('>=1.0,!=1.3.*,<2');
    expect(specifierSetContains(set, '1.2')).toBe(true);
    expect(specifierSetContains(set, '1.3.1')).toBe(false);
    expect(specifierSetContains(set, '2.0')).toBe(false);
    expect(parseSpecifierSet('  ')).toEqual([]);
    expect(specifierSetContains([], 'anything')).toBe(true);
    expect(() => parseSpecifierSet('>=1.0,,<2')).toThrow(VersionSyntaxError);
  });
});
