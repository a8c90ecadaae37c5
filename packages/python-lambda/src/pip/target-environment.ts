import type { MarkerEnvironment } from './markers.js';
import type { RuntimePlatform } from './platform.js';

/**
 * The marker environment of a Lambda runtime: what `packaging.markers.default_environment()`
 * gives inside the function, so that requirements are judged for Lambda, not the build machine.
 *
 * - `python_full_version` (and `implementation_version`, the same for CPython) is `X.Y.0`: Lambda
 *   moves a runtime to new patch releases on its own schedule, without a redeploy, so the patch
 *   level the code will run on is unknown when it is built. `X.Y.0` is what pip itself assumes
 *   for `--python-version X.Y` when it checks `Requires-Python`, and it keeps backports that
 *   markers such as `python_full_version < "3.12.1"` ask for (harmless on a later patch) rather
 *   than dropping them.
 * - `platform_release` and `platform_version` (the kernel's release and build strings) are
 *   empty: Lambda does not document its kernel and changes it without notice, and the
 *   specification gives the empty string for values that cannot be known.
 * - Lambda runs CPython on Linux: `sys_platform` linux, `platform_system` Linux, `os_name`
 *   posix, `platform_machine` x86_64 or aarch64 (`uname -m` of the runtime's CPU).
 */
export function lambdaMarkerEnvironment(platform: RuntimePlatform): MarkerEnvironment {
  const full = `${platform.pythonVersion}.0`;
  return {
    implementation_name: 'cpython',
    implementation_version: full,
    os_name: 'posix',
    platform_machine: platform.machine,
    platform_python_implementation: 'CPython',
    platform_release: '',
    platform_system: 'Linux',
    platform_version: '',
    python_full_version: full,
    python_version: platform.pythonVersion,
    sys_platform: 'linux',
  };
}
