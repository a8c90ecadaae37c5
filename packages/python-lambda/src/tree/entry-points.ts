/**
 * The console and GUI scripts an installer makes from a wheel's `entry_points.txt`, as pip makes
 * them (its ScriptMaker from distlib: the same wrapper text, one file per name, no variants), for
 * the Lambda runtime's interpreter instead of the build machine's.
 */

/** `console_scripts` and `gui_scripts`, name → `module:attr`, as pip reads them. */
export interface ScriptEntryPoints {
  console: Map<string, string>;
  gui: Map<string, string>;
}

/**
 * Parses `entry_points.txt` as importlib.metadata does: lines stripped, blank lines and `#`
 * comments skipped, `[group]` headers, `name = value` split at the first `=`; a later name in a
 * group replaces an earlier one.
 */
export function parseEntryPoints(text: string): ScriptEntryPoints {
  const result: ScriptEntryPoints = { console: new Map(), gui: new Map() };
  let group: string | null = null;
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      group = line.replace(/^[[\]]+|[[\]]+$/g, '');
      continue;
    }
    const equals = line.indexOf('=');
    if (group === null || equals === -1) continue;
    const target =
      group === 'console_scripts' ? result.console : group === 'gui_scripts' ? result.gui : null;
    target?.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return result;
}

/** The characters Python's `str.splitlines()` ends a line at (`\r\n` counts as one). */
const LINE_BREAKS = new Set([0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]);

/** Python's `str.splitlines()`. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!LINE_BREAKS.has(code)) continue;
    lines.push(text.slice(start, i));
    if (code === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * The scripts pip generates, as `name = value` specifications in its order: the console scripts
 * (with `pip` and `easy_install` given the versioned names pip gives them, for the runtime's
 * Python `version`, e.g. "3.12"), then the GUI scripts.
 */
export function scriptSpecs(points: ScriptEntryPoints, version: string): string[] {
  const console = new Map(points.console);
  const specs: string[] = [];
  const major = version.split('.', 1)[0] ?? version;
  const pip = console.get('pip');
  if (pip !== undefined) {
    console.delete('pip');
    specs.push(`pip = ${pip}`, `pip${major} = ${pip}`, `pip${version} = ${pip}`);
    for (const name of [...console.keys()])
      if (/^pip(\d+(\.\d+)?)?$/.test(name)) console.delete(name);
  }
  const easyInstall = console.get('easy_install');
  if (easyInstall !== undefined) {
    console.delete('easy_install');
    specs.push(`easy_install = ${easyInstall}`, `easy_install-${version} = ${easyInstall}`);
    for (const name of [...console.keys()])
      if (/^easy_install(-\d+\.\d+)?$/.test(name)) console.delete(name);
  }
  for (const [name, value] of console) specs.push(`${name} = ${value}`);
  for (const [name, value] of points.gui) specs.push(`${name} = ${value}`);
  return specs;
}

// distlib's ENTRY_RE, found anywhere in the specification (re.search); Python's \w and \s are
// Unicode-aware, as these classes are.
const W = String.raw`[\p{L}\p{N}_]`;
const ENTRY = new RegExp(
  String.raw`(?<name>(?:${W}|[-.+])+)\s*=\s*(?<callable>${W}+(?:[:.]${W}+)*)\s*(?:\[\s*(?<flags>[${W.slice(1, -1)}-]+(?:=${W}+)?(?:,\s*${W}+(?:=${W}+)?)*)\s*\])?`,
  'u',
);

/** A generated wrapper: the script's file name and its text, or why pip would refuse it. */
export type GeneratedScript =
  { ok: true; name: string; text: string } | { ok: false; spec: string; why: string };

/**
 * The wrapper pip writes for one specification, with `interpreter` on the `#!` line (pip writes
 * the interpreter it runs under; on Lambda that is the runtime's).
 */
export function scriptFor(spec: string, interpreter: string): GeneratedScript {
  const match = ENTRY.exec(spec);
  const brackets = spec.includes('[') || spec.includes(']');
  if (match?.groups === undefined)
    return {
      ok: false,
      spec,
      why: brackets ? 'it is not a valid entry point' : 'it names no callable',
    };
  const { name = '', callable = '', flags } = match.groups;
  if (flags === undefined && brackets)
    return { ok: false, spec, why: 'it is not a valid entry point' };
  const colons = callable.split(':').length - 1;
  if (colons > 1) return { ok: false, spec, why: 'it is not a valid entry point' };
  if (colons === 0)
    return { ok: false, spec, why: 'a callable suffix (module:function) is required' };
  const [module = '', suffix = ''] = callable.split(':');
  const importName = suffix.split('.', 1)[0] ?? suffix;
  return {
    ok: true,
    name,
    text: `#!${interpreter}
# -*- coding: utf-8 -*-
import re
import sys
from ${module} import ${importName}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(${suffix}())
`,
  };
}

/**
 * Whether a file of `.data/scripts` is a wrapper that setuptools made for an entry point (`X`,
 * `X.exe`, `X-script.py`, `X.pya`): pip leaves those out and generates its own.
 */
export function isEntryPointWrapper(fileName: string, points: ScriptEntryPoints): boolean {
  const lower = fileName.toLowerCase();
  const name = lower.endsWith('.exe')
    ? fileName.slice(0, -4)
    : lower.endsWith('-script.py')
      ? fileName.slice(0, -10)
      : lower.endsWith('.pya')
        ? fileName.slice(0, -4)
        : fileName;
  return points.console.has(name) || points.gui.has(name);
}

/**
 * A script of `.data/scripts` as pip installs it: a first line that starts with `#!python`
 * (`#!python`, `#!pythonw -u`, …) becomes `#!<interpreter>` and a newline; anything else is kept.
 * Returns null when the script is kept as it is.
 */
export function fixShebang(content: Buffer, interpreter: string): Buffer | null {
  if (!content.subarray(0, 8).equals(Buffer.from('#!python'))) return null;
  const newline = content.indexOf(0x0a);
  const rest = newline === -1 ? Buffer.alloc(0) : content.subarray(newline + 1);
  return Buffer.concat([Buffer.from(`#!${interpreter}\n`), rest]);
}
