import { main } from './main.js';

// `lbuild graph | head` closes the pipe early: that is not an error worth a stack trace. (A
// process-level handler, because touching process.stdout here would cost start-up time.)
process.on('uncaughtException', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE')
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  process.stderr.write(`lbuild: internal error: ${error.stack ?? error.message}\n`);
  process.exit(2);
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `lbuild: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  },
);
