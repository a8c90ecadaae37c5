/** Wheel file names (PEP 427) and project names (PEP 503). */

export interface WheelName {
  /** The distribution name as written in the file name (`_` for runs of `-_.`). */
  distribution: string;
  /** {@link normalizeProjectName} of the distribution. */
  project: string;
  version: string;
  build?: string;
  /** The expanded tags, e.g. `py2.py3-none-any` gives `py2-none-any` and `py3-none-any`. */
  tags: string[];
  /** The compressed tag triple as written, e.g. `cp312-cp312-manylinux_2_17_x86_64`. */
  tag: string;
}

/** PEP 503: runs of `-`, `_` and `.` become one `-`, lower case. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** Parses `name-version(-build)?-py-abi-platform.whl`; undefined for anything else. */
export function parseWheelName(fileName: string): WheelName | undefined {
  if (!fileName.endsWith('.whl')) return undefined;
  const parts = fileName.slice(0, -'.whl'.length).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [distribution, version] = parts as [string, string];
  const [py, abi, platform] = parts.slice(-3) as [string, string, string];
  const build = parts.length === 6 ? parts[2] : undefined;
  const tags: string[] = [];
  for (const p of py.split('.')) {
    for (const a of abi.split('.')) {
      for (const pl of platform.split('.')) tags.push(`${p}-${a}-${pl}`);
    }
  }
  return {
    distribution,
    project: normalizeProjectName(distribution),
    version,
    ...(build === undefined ? {} : { build }),
    tags,
    tag: `${py}-${abi}-${platform}`,
  };
}

/** Whether every tag of the wheel is platform-independent pure Python (`py3-none-any` and such). */
export function isPureWheel(wheel: WheelName): boolean {
  return wheel.tags.every((tag) => /^py\d*-none-any$/.test(tag));
}

/** The project name at the start of a PEP 508 requirement (`Foo[bar]>=1; …` gives `foo`). */
export function requirementProject(requirement: string): string | undefined {
  const match = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(requirement);
  return match?.[1] === undefined ? undefined : normalizeProjectName(match[1]);
}
