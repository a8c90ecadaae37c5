// The no-op trace's file: its name and key, the records it holds, and their replay (see
// trace.ts). The environment is kept as a SHA-256 only: it holds secrets.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const FORMAT = 'lbuild-noop-trace 2';

/** Where traces are kept (the same private directory as the code cache). */
export interface TraceStore {
  read(name: string): Buffer | undefined;
  write(name: string, data: string): void;
}

/** One run of the CLI, as far as it decides the answer apart from the file system. */
export interface Invocation {
  /** The identity of the CLI bundle that answers (device, inode, size, times). */
  bundle: string;
  cwd: string;
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
}

function keyOf(inv: Invocation): string {
  return JSON.stringify([
    inv.bundle,
    process.version,
    process.arch,
    process.platform,
    // Who asks decides what access() allows.
    process.getuid?.() ?? -1,
    process.getgid?.() ?? -1,
    process.getgroups?.() ?? [],
    inv.cwd,
    inv.argv,
  ]);
}

export function envDigest(env: NodeJS.ProcessEnv): string {
  const entries = Object.keys(env)
    .sort()
    .map((k) => [k, env[k] ?? '']);
  return sha256(JSON.stringify(entries));
}

/** A file name for a key (FNV-1a, 64 bits): the key itself is in the file and is compared. */
function nameOf(key: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < key.length; i++) {
    h ^= BigInt(key.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `lbuild-noop-${h.toString(16).padStart(16, '0')}.trace`;
}

/** What each kind of record asks the file system: s stat, l lstat, p realpath, k readlink. */
export type Kind = 's' | 'l' | 'p' | 'k';

function isKind(kind: string | undefined): kind is Kind {
  return kind === 's' || kind === 'l' || kind === 'p' || kind === 'k';
}

function identity(stat: fs.Stats): string {
  return `${stat.mode}:${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

function failed(error: unknown): string {
  return `!${(error as NodeJS.ErrnoException).code ?? 'ERROR'}`;
}

/** What a call of `kind` on `path` gives now. */
export function observe(kind: Kind, path: string): { result: string; ctimeMs?: number } {
  try {
    if (kind === 'p') return { result: fs.realpathSync(path) };
    if (kind === 'k') return { result: fs.readlinkSync(path) };
    const stat =
      kind === 's'
        ? fs.statSync(path, { throwIfNoEntry: false })
        : fs.lstatSync(path, { throwIfNoEntry: false });
    if (!stat) return { result: '!ENOENT' };
    return { result: identity(stat), ctimeMs: stat.ctimeMs };
  } catch (error) {
    return { result: failed(error) };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * True when a trace recorded for this invocation still holds: the check would answer 0.
 *
 * A trace is: FORMAT, the key, the environment's digest, the record count, the records, and
 * `end` with the SHA-256 of all before it (a damaged trace must not pass for a shorter one). The
 * records are sorted by path, each as `kind TAB shared TAB rest TAB result`: its path is the first
 * `shared` characters of the previous record's path followed by `rest`.
 */
export function answerFromTrace(inv: Invocation, store: TraceStore): boolean {
  const key = keyOf(inv);
  const data = store.read(nameOf(key));
  if (!data) return false;
  const text = data.toString('utf8');
  const end = text.lastIndexOf('\nend ');
  if (end < 0 || text.slice(end + 5) !== `${sha256(text.slice(0, end + 1))}\n`) return false;
  const lines = text.slice(0, end).split('\n');
  const count = Number(lines[3]);
  if (
    lines[0] !== FORMAT ||
    lines[1] !== key ||
    !Number.isSafeInteger(count) ||
    lines.length !== count + 4 ||
    lines[2] !== envDigest(inv.env)
  )
    return false;
  let previous = '';
  for (let i = 4; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const kind = line[0];
    const second = line.indexOf('\t', 2);
    const third = line.indexOf('\t', second + 1);
    if (!isKind(kind) || line[1] !== '\t' || second < 0 || third < 0) return false;
    const shared = Number(line.slice(2, second));
    if (!Number.isSafeInteger(shared) || shared < 0 || shared > previous.length) return false;
    previous = previous.slice(0, shared) + line.slice(second + 1, third);
    if (observe(kind, previous).result !== line.slice(third + 1)) return false;
  }
  return true;
}

/**
 * Writes the trace of a check: `records` maps `kind TAB path` to what the call found, and
 * `env` is the environment's digest when the check started.
 */
export function writeTrace(
  inv: Invocation,
  env: string,
  records: ReadonlyMap<string, string>,
  store: TraceStore,
): void {
  const key = keyOf(inv);
  const lines = [FORMAT, key, env, String(records.size)];
  const sorted = [...records].map(([id, result]) => ({
    kind: id.charAt(0),
    path: id.slice(2),
    result,
  }));
  sorted.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : x.kind < y.kind ? -1 : 1));
  let previous = '';
  for (const { kind, path, result } of sorted) {
    let shared = 0;
    const most = Math.min(previous.length, path.length);
    while (shared < most && previous.charCodeAt(shared) === path.charCodeAt(shared)) shared++;
    lines.push(`${kind}\t${String(shared)}\t${path.slice(shared)}\t${result}`);
    previous = path;
  }
  const body = lines.join('\n') + '\n';
  store.write(nameOf(key), `${body}end ${sha256(body)}\n`);
}
