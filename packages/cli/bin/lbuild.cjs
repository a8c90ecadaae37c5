#!/usr/bin/env node
'use strict';
// Starts the CLI bundle with a V8 code cache. `lbuild -q` is run often (editors, Makefiles, CI
// gates) and its run time is mostly start-up; compiling the bundle from a cache instead of
// parsing it again cuts that to little more than `node -e 0`. (Node 20 has no
// module.enableCompileCache(); the v8-compile-cache package was measured slower here.)
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, '..', 'dist', 'lbuild.cjs');
const source = fs.readFileSync(file, 'utf8');
const tag = `${process.version}-${process.arch}-${source.length}`;

const name = `lbuild.${tag}.v8cache`;
function* cachePaths() {
  yield path.join(path.dirname(file), name);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  yield path.join(require('node:os').tmpdir(), `lbuild-${uid}`, name);
}

let cachedData;
for (const candidate of cachePaths()) {
  try {
    cachedData = fs.readFileSync(candidate);
    break;
  } catch {
    // Not there yet.
  }
}

const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
const compiled = script.runInThisContext();

if (cachedData === undefined || script.cachedDataRejected) {
  // Written after the command ran, so the functions it compiled lazily are in the cache too.
  process.once('beforeExit', () => {
    const data = script.createCachedData();
    for (const target of cachePaths()) {
      try {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const tmp = `${target}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, target);
        return;
      } catch {
        // Not writable (a global install owned by another user): try the next place.
      }
    }
  });
}
compiled.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
