import { describe, expect, it } from 'vitest';
import {
  MarkerEvaluationError,
  MarkerSyntaxError,
  evaluateMarker,
  formatMarker,
  markerHolds,
  parseMarker,
} from '../../src/pip/markers.js';
import type { MarkerContext, MarkerEnvironment } from '../../src/pip/markers.js';
import { runtimePlatform } from '../../src/pip/platform.js';
import { lambdaMarkerEnvironment } from '../../src/pip/target-environment.js';

/** Lambda python3.12 on x86_64, as lbuild judges it. */
const lambda312 = lambdaMarkerEnvironment(runtimePlatform('3.12', 'x86_64'));
/** A build machine unlike it: CPython 3.11 on macOS arm64. */
const mac311: MarkerEnvironment = {
  implementation_name: 'cpython',
  implementation_version: '3.11.7',
  os_name: 'posix',
  platform_machine: 'arm64',
  platform_python_implementation: 'CPython',
  platform_release: '23.4.0',
  platform_system: 'Darwin',
  platform_version: 'Darwin Kernel Version 23.4.0: Fri Mar 15 00:10:42 PDT 2024',
  python_full_version: '3.11.7',
  python_version: '3.11',
  sys_platform: 'darwin',
};
const pypyWindows: MarkerEnvironment = {
  ...mac311,
  implementation_name: 'pypy',
  implementation_version: '7.3.13',
  os_name: 'nt',
  platform_machine: 'AMD64',
  platform_python_implementation: 'PyPy',
  platform_release: '10',
  platform_system: 'Windows',
  platform_version: '10.0.19045',
  python_full_version: '3.10.13',
  python_version: '3.10',
  sys_platform: 'win32',
};

const on = (env: MarkerEnvironment, marker: string, context?: MarkerContext) =>
  markerHolds(marker, env, context);

describe('the Lambda marker environment', () => {
  it('is CPython on Linux for the runtime, with X.Y.0 and unknown kernel strings', () => {
    expect(lambda312).toEqual({
      implementation_name: 'cpython',
      implementation_version: '3.12.0',
      os_name: 'posix',
      platform_machine: 'x86_64',
      platform_python_implementation: 'CPython',
      platform_release: '',
      platform_system: 'Linux',
      platform_version: '',
      python_full_version: '3.12.0',
      python_version: '3.12',
      sys_platform: 'linux',
    });
    expect(lambdaMarkerEnvironment(runtimePlatform('python3.10', 'arm64'))).toMatchObject({
      platform_machine: 'aarch64',
      python_version: '3.10',
      python_full_version: '3.10.0',
    });
  });
});

describe('evaluateMarker: each field', () => {
  it('python_version compares as a version (3.12 > 3.9, not as text)', () => {
    expect(on(lambda312, 'python_version >= "3.12"')).toBe(true);
    expect(on(mac311, 'python_version >= "3.12"')).toBe(false);
    expect(on(lambda312, 'python_version < "3.11"')).toBe(false);
    expect(on(pypyWindows, 'python_version < "3.11"')).toBe(true);
    expect(on(lambda312, 'python_version > "3.9"')).toBe(true);
    expect(on(lambda312, 'python_version == "3.12"')).toBe(true);
    expect(on(lambda312, 'python_version == "3.*"')).toBe(true);
    expect(on(lambda312, 'python_version != "3.12.*"')).toBe(false);
    expect(on(lambda312, 'python_version ~= "3.10"')).toBe(true);
    expect(on(lambda312, 'python_version === "3.12"')).toBe(true);
    expect(on(lambda312, 'python_version === "3.12.0"')).toBe(false);
  });

  it('python_full_version and implementation_version compare as versions', () => {
    expect(on(lambda312, 'python_full_version >= "3.12.0"')).toBe(true);
    expect(on(lambda312, 'python_full_version < "3.12.1"')).toBe(true);
    expect(on(mac311, 'python_full_version < "3.12.1"')).toBe(true);
    expect(on(lambda312, 'python_full_version == "3.12"')).toBe(true);
    expect(on(lambda312, 'python_full_version >= "3.12.0rc1"')).toBe(true);
    expect(on(lambda312, 'python_full_version > "3.12.0"')).toBe(false);
    expect(on(lambda312, 'implementation_version >= "3.11"')).toBe(true);
    expect(on(pypyWindows, 'implementation_version >= "7.3"')).toBe(true);
  });

  it('platform_machine, sys_platform, platform_system, os_name are case-sensitive strings', () => {
    expect(on(lambda312, 'platform_machine == "x86_64"')).toBe(true);
    expect(on(lambda312, 'platform_machine == "aarch64"')).toBe(false);
    expect(
      on(
        lambdaMarkerEnvironment(runtimePlatform('3.12', 'arm64')),
        'platform_machine == "aarch64"',
      ),
    ).toBe(true);
    expect(on(lambda312, 'platform_machine == "X86_64"')).toBe(false);
    expect(on(lambda312, 'sys_platform == "linux"')).toBe(true);
    expect(on(lambda312, 'sys_platform == "win32"')).toBe(false);
    expect(on(pypyWindows, 'sys_platform == "win32"')).toBe(true);
    expect(on(lambda312, 'sys_platform != "darwin"')).toBe(true);
    expect(on(mac311, 'sys_platform != "darwin"')).toBe(false);
    expect(on(lambda312, 'platform_system == "Linux"')).toBe(true);
    expect(on(lambda312, 'platform_system == "linux"')).toBe(false);
    expect(on(lambda312, 'os_name == "posix"')).toBe(true);
    expect(on(pypyWindows, 'os_name == "nt"')).toBe(true);
  });

  it('implementation_name and platform_python_implementation', () => {
    expect(on(lambda312, 'implementation_name == "cpython"')).toBe(true);
    expect(on(lambda312, 'implementation_name == "pypy"')).toBe(false);
    expect(on(pypyWindows, 'implementation_name == "pypy"')).toBe(true);
    expect(on(lambda312, 'platform_python_implementation == "CPython"')).toBe(true);
    expect(on(lambda312, 'platform_python_implementation != "PyPy"')).toBe(true);
    expect(on(pypyWindows, 'platform_python_implementation != "PyPy"')).toBe(false);
  });

  it('platform_release and platform_version: versions where they are, else strings', () => {
    expect(on(mac311, 'platform_release >= "20"')).toBe(true);
    expect(on(mac311, 'platform_release < "20"')).toBe(false);
    expect(on(mac311, '"Darwin Kernel" in platform_version')).toBe(true);
    // On Lambda both are unknown (empty): nothing is equal to or ordered with them.
    expect(on(lambda312, 'platform_release >= "5.10"')).toBe(false);
    expect(on(lambda312, 'platform_release != "5.10"')).toBe(true);
    expect(on(lambda312, '"amzn" in platform_release')).toBe(false);
    expect(on(lambda312, 'platform_version == ""')).toBe(true);
  });

  it('accepts the legacy PEP 345 spellings pip still accepts', () => {
    expect(on(lambda312, 'os.name == "posix"')).toBe(true);
    expect(on(lambda312, 'sys.platform == "linux"')).toBe(true);
    expect(on(lambda312, 'platform.machine == "x86_64"')).toBe(true);
    expect(on(lambda312, 'platform.python_implementation == "CPython"')).toBe(true);
    expect(on(lambda312, 'python_implementation == "CPython"')).toBe(true);
    expect(on(lambda312, 'platform.version == ""')).toBe(true);
  });
});

describe('evaluateMarker: operators', () => {
  it('in / not in are substring tests on strings, either side', () => {
    expect(on(lambda312, 'platform_machine in "x86_64 AMD64"')).toBe(true);
    expect(on(lambda312, 'platform_machine not in "x86_64 AMD64"')).toBe(false);
    expect(on(lambda312, '"86" in platform_machine')).toBe(true);
    expect(on(lambda312, '"arm" not in platform_machine')).toBe(true);
    // On a version field, as pip does it: text containment.
    expect(on(lambda312, 'python_version in "3.11 3.12"')).toBe(true);
    expect(on(lambda312, 'python_version not in "3.10 3.11"')).toBe(true);
  });

  it('a constant on the left mirrors the comparison', () => {
    expect(on(lambda312, '"3.11" < python_version')).toBe(true);
    expect(on(lambda312, '"3.13" <= python_version')).toBe(false);
    expect(on(lambda312, '"linux" == sys_platform')).toBe(true);
    expect(on(lambda312, '"3.12" === python_version')).toBe(true);
  });

  it('ordered comparison of strings: <= and >= as ==, < and > false; ~= and === as ==', () => {
    expect(on(lambda312, 'sys_platform <= "linux"')).toBe(true);
    expect(on(lambda312, 'sys_platform >= "linux"')).toBe(true);
    expect(on(lambda312, 'sys_platform >= "a"')).toBe(false);
    expect(on(lambda312, 'sys_platform > "a"')).toBe(false);
    expect(on(lambda312, 'sys_platform < "z"')).toBe(false);
    expect(on(lambda312, 'sys_platform ~= "linux"')).toBe(true);
    expect(on(lambda312, 'sys_platform === "linux"')).toBe(true);
  });

  it('a version field against something that is no version compares as strings', () => {
    expect(on(lambda312, 'python_version == "three"')).toBe(false);
    expect(on(lambda312, 'python_version != "three"')).toBe(true);
    expect(on(lambda312, 'python_version > "three"')).toBe(false);
    // `~=` needs two release segments; with one it is no specifier, so string equality.
    expect(on(lambda312, 'python_version ~= "3"')).toBe(false);
  });

  it('and binds tighter than or; parentheses group', () => {
    const m = 'sys_platform == "win32" or sys_platform == "linux" and python_version >= "3.13"';
    expect(on(lambda312, m)).toBe(false);
    expect(on(pypyWindows, m)).toBe(true);
    expect(
      on(
        lambda312,
        '(sys_platform == "win32" or sys_platform == "linux") and python_version >= "3.12"',
      ),
    ).toBe(true);
    expect(
      on(
        lambda312,
        'sys_platform == "linux" and (platform_machine == "aarch64" or python_version < "3.11")',
      ),
    ).toBe(false);
    expect(on(lambda312, '((python_version >= "3.8"))')).toBe(true);
    expect(on(lambda312, 'python_version>"3.9"and os_name=="posix"')).toBe(true);
    expect(on(lambda312, "python_version<'3.11'or(os_name=='posix')")).toBe(true);
  });
});

describe('extra, extras and dependency_groups', () => {
  it('extra is the set of extras requested of the package, names normalised', () => {
    expect(on(lambda312, 'extra == "s3"')).toBe(false);
    expect(on(lambda312, 'extra == "s3"', { extra: ['s3'] })).toBe(true);
    expect(on(lambda312, 'extra == "S3"', { extra: ['s3'] })).toBe(true);
    expect(on(lambda312, 'extra == "Foo_Bar"', { extra: ['foo.bar'] })).toBe(true);
    expect(on(lambda312, 'extra == "foo-bar"', { extra: ['FOO__BAR'] })).toBe(true);
    expect(on(lambda312, '"s3" == extra', { extra: ['gcs', 's3'] })).toBe(true);
    expect(on(lambda312, 'extra == "s3"', { extra: ['gcs'] })).toBe(false);
    expect(on(lambda312, 'extra != "s3"', { extra: ['gcs'] })).toBe(true);
    expect(on(lambda312, 'extra != "s3"', { extra: ['s3'] })).toBe(false);
    // Anything else on extra is meaningless and false.
    expect(on(lambda312, 'extra > "a"', { extra: ['s3'] })).toBe(false);
    expect(on(lambda312, '"s" in extra', { extra: ['s3'] })).toBe(false);
    expect(on(lambda312, 'extra == "s3" and python_version < "3.11"', { extra: ['s3'] })).toBe(
      false,
    );
    expect(on(pypyWindows, 'extra == "s3" and python_version < "3.11"', { extra: ['s3'] })).toBe(
      true,
    );
  });

  it('extras and dependency_groups are sets for lock files; an error elsewhere', () => {
    const lock: MarkerContext = { extras: ['Dev_Tools'], dependencyGroups: ['test'] };
    expect(on(lambda312, '"dev-tools" in extras', lock)).toBe(true);
    expect(on(lambda312, '"docs" not in extras', lock)).toBe(true);
    expect(on(lambda312, '"test" in dependency_groups', lock)).toBe(true);
    expect(on(lambda312, 'extras == "dev-tools"', lock)).toBe(false);
    expect(() => on(lambda312, '"x" in extras')).toThrow(MarkerEvaluationError);
    expect(() => on(lambda312, '"x" in dependency_groups')).toThrow(/only defined in lock files/);
  });
});

describe('parseMarker: malformed markers', () => {
  const cases: [string, RegExp][] = [
    ['', /the marker is empty/],
    ['python_version >= ', /expected a marker field or a quoted string, found the end/],
    ['python_version >= "3.12', /unterminated string at column 19/],
    ['python_version => "3"', /unexpected "=" at column 16/],
    ['python_version = "3"', /unexpected "=" at column 16/],
    ['python_version "3"', /expected a comparison/],
    ['python_verison >= "3"', /unknown marker field "python_verison"/],
    ['python_version >= 3.12', /values must be quoted \(e.g. "3.12"\) at column 19/],
    ['os_name == "posix" and', /found the end/],
    ['(os_name == "posix"', /expected "\)"/],
    ['os_name == "posix")', /expected "and", "or" or the end, found "\)"/],
    ['os_name not "posix"', /expected "in" after "not"/],
    ['os_name == sys_platform', /compares two fields/],
    ['"a" == "b"', /compares two strings/],
    ['os_name == "posix" && sys_platform == "linux"', /unexpected "&"/],
    ['3.4 < python_version < 3.9', /values must be quoted/],
    ['"3.4" < python_version < "3.9"', /expected "and", "or" or the end, found "<"/],
    ['python_version >= "3" or', /expected a marker field or a quoted string, found the end/],
  ];
  for (const [marker, why] of cases) {
    it(`rejects ${JSON.stringify(marker)}`, () => {
      expect(() => parseMarker(marker)).toThrow(MarkerSyntaxError);
      expect(() => parseMarker(marker)).toThrow(why);
    });
  }

  it('the error names the marker and the column', () => {
    try {
      parseMarker('python_version >= "3" or or');
      throw new Error('parsed');
    } catch (error) {
      expect(error).toBeInstanceOf(MarkerSyntaxError);
      const e = error as MarkerSyntaxError;
      expect(e.marker).toBe('python_version >= "3" or or');
      expect(e.offset).toBe(25);
      expect(e.message).toBe(
        'Invalid environment marker "python_version >= \\"3\\" or or": expected a marker field or a quoted string, found "or" at column 26.',
      );
    }
  });
});

describe('formatMarker', () => {
  it('writes one canonical spelling, keeping the grouping', () => {
    expect(
      formatMarker(parseMarker("python_version<'3.11'or(os_name=='posix'and extra=='x')")),
    ).toBe('python_version < "3.11" or os_name == "posix" and extra == "x"');
    expect(
      formatMarker(parseMarker('(os_name=="a" or os_name == "nt")and "x" in sys_platform')),
    ).toBe('(os_name == "a" or os_name == "nt") and "x" in sys_platform');
    expect(formatMarker(parseMarker(`platform_version == 'say "hi"'`))).toBe(
      `platform_version == 'say "hi"'`,
    );
    const m = parseMarker(
      '(sys_platform == "win32" or sys_platform == "linux") and python_version >= "3.12"',
    );
    expect(evaluateMarker(parseMarker(formatMarker(m)), lambda312)).toBe(
      evaluateMarker(m, lambda312),
    );
  });
});
