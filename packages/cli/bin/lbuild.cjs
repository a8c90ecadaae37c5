#!/usr/bin/env node
'use strict';
// The CLI ships as one CommonJS bundle: Node starts CommonJS measurably faster than ES modules,
// and `lbuild -q` is run often enough (editors, Makefiles, CI gates) for that to matter.
require('../dist/lbuild.cjs');
