import type { BuildEvent } from '@lbuild/core';
import { failureJson } from './failure.js';

/** A pino logger's lines for the build's events, and for the lines around builds (watch mode). */
export interface JsonLog {
  onEvent: (event: BuildEvent) => void;
  write: (
    level: 'info' | 'warn' | 'error',
    fields: Record<string, unknown>,
    message: string,
  ) => void;
}

/**
 * `--log-format json`: every engine event as a pino JSON line, for CI systems and log
 * shippers. pino is loaded only when asked for.
 */
export async function createJsonLogger(destination: 1 | 2): Promise<JsonLog> {
  const { pino } = await import('pino');
  const logger = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination, sync: true }),
  );
  const onEvent = (event: BuildEvent): void => {
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
          logger.error(
            { event: event.type, ...rest, failure: failureJson(failure) },
            `${rest.key} ${rest.status}`,
          );
        else logger.info({ event: event.type, ...rest }, `${rest.key} ${rest.status}`);
        return;
      }
      case 'cache-warning':
        logger.warn({ event: event.type, ...(event.key ? { key: event.key } : {}) }, event.message);
        return;
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
  return { onEvent, write: (level, fields, message) => logger[level](fields, message) };
}
