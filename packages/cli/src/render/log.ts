import type { BuildEvent } from '@lbuild/core';

/**
 * `--log-format json`: every engine event as a pino JSON line, for CI systems and log
 * shippers. pino is loaded only when asked for.
 */
export async function createJsonLogger(destination: 1 | 2): Promise<(event: BuildEvent) => void> {
  const { pino } = await import('pino');
  const logger = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination, sync: true }),
  );
  return (event) => {
    switch (event.type) {
      case 'target-output':
        logger.info(
          { event: event.type, key: event.key, stream: event.stream, text: event.text },
          'output',
        );
        return;
      case 'target-log':
        logger[event.level]({ event: event.type, key: event.key, ...event.data }, event.message);
        return;
      case 'target-changed-during-run':
        logger.warn(
          { event: event.type, key: event.key, changed: event.changed },
          `${event.key} not stamped: changed while it ran`,
        );
        return;
      case 'target-finish': {
        const { failure, ...rest } = event.report;
        if (failure)
          logger.error({ event: event.type, ...rest, failure }, `${rest.key} ${rest.status}`);
        else logger.info({ event: event.type, ...rest }, `${rest.key} ${rest.status}`);
        return;
      }
      case 'build-finish':
        logger.info(
          { event: event.type, status: event.summary.status, durationMs: event.summary.durationMs },
          `build ${event.summary.status}`,
        );
        return;
      default:
        logger.info({ ...event, event: event.type, type: undefined }, event.type);
    }
  };
}
