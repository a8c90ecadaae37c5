#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startLambdaEmulator } from './server.js';

const USAGE = `usage: lambda-emulator [--port 9001] [--host 127.0.0.1] [--region us-east-1]
                       [--s3-endpoint http://127.0.0.1:4568] [--update-delay-ms 200]
                       [--max-request-bytes N]

A local AWS Lambda REST API (2015-03-31) for tests. Point the AWS SDK or CLI at it with
  AWS_ENDPOINT_URL_LAMBDA=<endpoint>  (and dummy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
Faults, recorded calls and seeded functions are under <endpoint>/__emulator/.
`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(
      `lambda-emulator: --${name} must be a whole number, got ${JSON.stringify(value)}\n`,
    );
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        region: { type: 'string' },
        's3-endpoint': { type: 'string' },
        'update-delay-ms': { type: 'string' },
        'max-request-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(
      `lambda-emulator: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`,
    );
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  const port = int('port', values.port);
  const updateDelayMs = int('update-delay-ms', values['update-delay-ms']);
  const maxRequestBytes = int('max-request-bytes', values['max-request-bytes']);
  const emulator = await startLambdaEmulator({
    ...(port !== undefined ? { port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
    ...(values['s3-endpoint'] !== undefined ? { s3Endpoint: values['s3-endpoint'] } : {}),
    ...(updateDelayMs !== undefined ? { updateDelayMs } : {}),
    ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
  });
  process.stdout.write(
    `lambda-emulator listening on ${emulator.endpoint} (region ${emulator.region})\n` +
      `  export AWS_ENDPOINT_URL_LAMBDA=${emulator.endpoint}\n`,
  );
  const stop = (): void => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `lambda-emulator: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
