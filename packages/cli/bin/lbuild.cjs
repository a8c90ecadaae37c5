#!/usr/bin/env node
'use strict';
// Starts the CLI bundle with a V8 code cache. `lbuild -q` is run often (editors, Makefiles, CI
// gates) and its run time is mostly start-up; compiling the bundle from a cache instead of
// parsing it again cuts that to little more than `node -e 0`. (Node 20 has no
// module.enableCompileCache(), and on Node 22 it measured slower than this: its cache is made
// right after compiling, without the functions the command compiled lazily as it ran. The
// v8-compile-cache package was measured slower too.)
//
// V8 accepts a cache made for any source of the same length, and a cache is code that runs, so:
// - the cache file is named by the identity of the exact file compiled below, as lbuild trusts an
//   input file: device, inode, size and the nanosecond mtime and ctime, all from the descriptor
//   the bytes are read from and the same after the read (an edit of the bundle that keeps its
//   length, an upgrade, a rebuild: each gets its own cache). A file changed within a clock tick
//   (two seconds where times are whole seconds) gets no cache: another write within the same
//   tick would leave all of these as they were. (Its SHA-256 named the cache before; loading node:crypto for it cost a seventh of
//   starting Node.)
// - it is kept only in a directory of this user's own (created 0700; used only while it is owned
//   by this uid and open to no one else), never next to the bundle or in a shared directory
//   another user could have prepared. Anything else runs without a cache; a cache never fails a
//   run.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

/** Cache files kept besides the current one (other versions, other Node releases). */
const KEEP = 8;
/** No-op traces kept besides the current one (other projects, other command lines). */
const KEEP_TRACES = 64;
const SUFFIX = '.v8cache';

const FIELDS = ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'];

/** The bundle's identity from its (bigint) stats; undefined when it changed too recently to trust. */
function identityOf(stats) {
  // lbuild's racy window for input files: whole-second times need two seconds, finer ones a tick.
  const window = stats.ctimeNs % 1_000_000_000n === 0n ? 2_000_000_000n : 50_000_000n;
  if (BigInt(Date.now()) * 1_000_000n - stats.ctimeNs < window) return undefined;
  return FIELDS.map((f) => stats[f].toString(36)).join('-');
}

/** Undefined when the bundle changed while it was read, or changed too recently to trust. */
function cacheName(before, after, length) {
  if (FIELDS.some((f) => before[f] !== after[f]) || after.size !== BigInt(length)) return undefined;
  const id = identityOf(after);
  return id === undefined ? undefined : `lbuild-${id}-${process.version}-${process.arch}${SUFFIX}`;
}

/** This user's cache directories, best first: the XDG cache home, then one in the temp dir. */
function* cacheDirs(uid) {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) yield path.join(xdg, 'lbuild');
  else {
    const home = require('node:os').homedir();
    if (home && path.isAbsolute(home)) yield path.join(home, '.cache', 'lbuild');
  }
  yield path.join(require('node:os').tmpdir(), `lbuild-${uid}`);
}

/** A real directory (not a link to one) owned by this user and closed to group and others. */
function trusted(dir, uid) {
  try {
    const stat = fs.lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

function readCache(uid, name) {
  for (const dir of cacheDirs(uid)) {
    if (!trusted(dir, uid)) continue;
    try {
      return fs.readFileSync(path.join(dir, name));
    } catch {
      // Not cached there (yet).
    }
  }
  return undefined;
}

function writeCache(uid, name, data, keep) {
  for (const dir of cacheDirs(uid)) {
    try {
      // mode applies to each directory it creates; an existing one keeps its own and is judged.
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!trusted(dir, uid)) continue;
      const target = path.join(dir, name);
      const tmp = `${target}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
      fs.renameSync(tmp, target);
    } catch {
      // Not writable (a read-only home, a full disk): try the next place, else run uncached.
      continue;
    }
    try {
      prune(dir, name, keep);
    } catch {
      // Tidying is best effort.
    }
    return;
  }
}

/**
 * Keeps the newest few files of `current`'s kind (code caches: each build or upgrade of lbuild
 * leaves one behind; no-op traces: one per project and command line), and
 * removes what a write that was killed left.
 */
function prune(dir, current, keep) {
  const entries = fs
    .readdirSync(dir)
    .filter((entry) => entry.startsWith('lbuild-') && entry !== current)
    .map((entry) => {
      try {
        return { entry, mtime: fs.statSync(path.join(dir, entry)).mtimeMs };
      } catch {
        return { entry, mtime: Infinity };
      }
    });
  const suffix = path.extname(current);
  const caches = entries.filter((e) => e.entry.endsWith(suffix)).sort((x, y) => y.mtime - x.mtime);
  const leftovers = entries.filter(
    (e) => e.entry.endsWith('.tmp') && Date.now() - e.mtime > 3_600_000,
  );
  for (const { entry } of [...caches.slice(keep), ...leftovers])
    fs.rmSync(path.join(dir, entry), { force: true });
}

/**
 * Runs the bundle. A `-q` check first asks its no-op trace (see src/noop/trace.ts): when what the
 * last check that answered 0 saw is all still so, the answer is 0 without loading the bundle at
 * all; otherwise the bundle runs, recording what it sees for the next time.
 */
function main() {
  // Without a uid there is no owner to check (Windows): no cache and no trace.
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const file = path.join(__dirname, '..', 'bundle', 'lbuild.cjs');
  const argv = process.argv.slice(2);
  let recorder;
  // Only `-q` checks are traced (and none with LBUILD_NOOP_TRACE=off): other commands do not
  // load the trace's code at all.
  const question = argv.some((a) => a === '-q' || a === '--question');
  if (uid !== undefined && question && process.env.LBUILD_NOOP_TRACE !== 'off') {
    const trace = require(path.join(__dirname, '..', 'bundle', 'noop-trace.cjs'));
    const bundle = identityOf(fs.statSync(file, { bigint: true }));
    if (bundle !== undefined) {
      const invocation = { bundle, cwd: process.cwd(), argv, env: process.env };
      const store = {
        read: (name) => readCache(uid, name),
        write: (name, data) => writeCache(uid, name, data, KEEP_TRACES),
      };
      if (trace.answerFromTrace(invocation, store)) {
        process.exitCode = 0;
        return;
      }
      recorder = new trace.Recorder(invocation, store, Module.isBuiltin);
    }
  }

  const fd = fs.openSync(file, 'r');
  const before = fs.fstatSync(fd, { bigint: true });
  const bytes = fs.readFileSync(fd);
  const after = fs.fstatSync(fd, { bigint: true });
  fs.closeSync(fd);
  const source = bytes.toString('utf8');
  // The bundle that runs must be the one the trace is named for.
  if (recorder && identityOf(after) !== recorder.bundle) recorder = undefined;

  const name = uid === undefined ? undefined : cacheName(before, after, bytes.length);
  const cachedData = name === undefined ? undefined : readCache(uid, name);

  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  const compiled = script.runInThisContext();

  if (name !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    // Written after the command ran, so the functions it compiled lazily are in the cache too.
    process.once('beforeExit', () => writeCache(uid, name, script.createCachedData(), KEEP));
  }
  if (recorder) process.once('beforeExit', () => recorder.finish(process.exitCode));
  const bundleRequire = Module.createRequire(file);
  compiled.call(
    mod.exports,
    mod.exports,
    recorder ? recorder.wrapRequire(bundleRequire) : bundleRequire,
    mod,
    file,
    path.dirname(file),
  );
}

main();
