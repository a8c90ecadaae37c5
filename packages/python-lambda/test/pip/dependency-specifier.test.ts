import { describe, expect, it } from 'vitest';
import {
  RequirementSyntaxError,
  formatDependency,
  parseDependencySpecifier,
} from '../../src/pip/dependency-specifier.js';
import { formatMarker } from '../../src/pip/markers.js';
import { formatSpecifierSet } from '../../src/pip/pep440.js';

const parse = (text: string) => {
  const spec = parseDependencySpecifier(text);
  return {
    name: spec.name,
    project: spec.project,
    extras: spec.extras,
    versions: formatSpecifierSet(spec.specifiers),
    url: spec.url,
    marker: spec.marker === undefined ? undefined : formatMarker(spec.marker),
  };
};

describe('parseDependencySpecifier', () => {
  it('reads every part of a name-based requirement', () => {
    expect(parse('Requests [Security, tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"')).toEqual(
      {
        name: 'Requests',
        project: 'requests',
        extras: ['security', 'tests'],
        versions: '>=2.8.1,==2.8.*',
        url: undefined,
        marker: 'python_version < "2.7"',
      },
    );
  });

  it('reads the forms found in METADATA and requirements files', () => {
    expect(parse('six')).toMatchObject({ project: 'six', extras: [], versions: '' });
    expect(parse('six (>=1.5)')).toMatchObject({ project: 'six', versions: '>=1.5' });
    expect(parse('zope.interface (>=5,<7) ; extra == "test"')).toMatchObject({
      project: 'zope-interface',
      versions: '>=5,<7',
      marker: 'extra == "test"',
    });
    expect(parse('exceptiongroup>=1.0.2;python_version<"3.11"')).toMatchObject({
      project: 'exceptiongroup',
      versions: '>=1.0.2',
      marker: 'python_version < "3.11"',
    });
    expect(parse('Foo_Bar[Extra_One,extra-one]')).toMatchObject({
      project: 'foo-bar',
      extras: ['extra-one'],
    });
    expect(parse('pkg[]')).toMatchObject({ extras: [] });
    expect(parse('pkg>=1,')).toMatchObject({ versions: '>=1' });
    expect(parse('  pkg  ')).toMatchObject({ project: 'pkg' });
    expect(parse('pkg===1.0-legacy')).toMatchObject({ versions: '===1.0-legacy' });
  });

  it('reads URL requirements, whose marker needs a space before ";"', () => {
    expect(
      parse('pip @ https://example.com/pip-1.3.1.zip#sha1=da92 ; sys_platform == "linux"'),
    ).toEqual({
      name: 'pip',
      project: 'pip',
      extras: [],
      versions: '',
      url: 'https://example.com/pip-1.3.1.zip#sha1=da92',
      marker: 'sys_platform == "linux"',
    });
    expect(parse('local[x]@file:///tmp/local-1.0-py3-none-any.whl')).toMatchObject({
      extras: ['x'],
      url: 'file:///tmp/local-1.0-py3-none-any.whl',
    });
  });

  it('rejects malformed requirements, saying what is wrong', () => {
    const bad: [string, RegExp][] = [
      ['', /does not start with a project name/],
      ['>=1.0', /does not start with a project name/],
      ['pkg[extra', /no closing "\]"/],
      ['pkg[ex tra]', /not a valid extra name/],
      ['pkg (>=1.0', /no closing "\)"/],
      ['pkg 1.0', /unexpected "1.0" after the name/],
      ['pkg >= 1.0 ; python_version >> "3"', /Invalid environment marker/],
      ['pkg ; ', /the marker is empty/],
      ['pkg >=1.0.*', /only == and != take/],
      ['pkg @ ', /not followed by a URL/],
      ['pkg @ https://x/y.whl extra', /unexpected "extra" after the URL/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseDependencySpecifier(text), text).toThrow(RequirementSyntaxError);
      expect(() => parseDependencySpecifier(text), text).toThrow(why);
    }
  });

  it('formats a canonical spelling, with or without the marker', () => {
    const spec = parseDependencySpecifier('Foo.Bar [b,a] (>= 1.0, <2) ; python_version<"3.11"');
    expect(formatDependency(spec)).toBe('foo-bar[a,b]>=1.0,<2; python_version < "3.11"');
    expect(formatDependency(spec, false)).toBe('foo-bar[a,b]>=1.0,<2');
    expect(
      formatDependency(parseDependencySpecifier('x @ https://h/x.whl ; os_name == "nt"')),
    ).toBe('x @ https://h/x.whl ; os_name == "nt"');
  });
});
