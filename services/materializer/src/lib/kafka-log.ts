import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '@chaperone/observability';

/** Routes kafkajs' own logging into our pino logger (stderr, structured). */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _t, ...extra } = log;
      const fields = { kafka: namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}
