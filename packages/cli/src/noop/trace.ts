// The no-op trace: what a `lbuild -q` that answered "up to date" saw of the world, so that the
// next `lbuild -q` asked the same question in the same world can answer without loading the CLI.
//
// The check is a pure function of the command line, the working directory, the environment, the
// lbuild and Node that run it, and what it reads of the file system. While a `-q` check runs, the
// bundle is given a file system module that records every path it stats, reads, lists or resolves,
// with what that call found (the file's identity, or the error). A trace is kept only when:
// - the check exited 0 without printing anything and without touching anything a file system
//   record cannot vouch for (a child process, the network, a worker, a vendored library, a write,
//   an unknown fs call, the current directory changing);
// - every file and directory it saw had last changed (ctime) more than a clock tick before the
//   check started: a later change then always shows as a new ctime, which no one can set back.
// The next check replays the records (stat again, realpath again, ...). If every call gives the
// same answer and the environment is the same, the full check would read the same bytes and
// answer the same; anything else runs the full check, which records afresh.

export { answerFromTrace } from './trace-file.js';
export { Recorder } from './recorder.js';
