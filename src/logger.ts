/**
 * winston JSON logs. Log types, ids and codes only: never names, note text, contact details or
 * resource bodies (they are PHI). Per-request children carry the request id.
 */
import winston from 'winston';

export type Logger = winston.Logger;

/**
 * Creates the service logger.
 * @param level - the minimum level.
 * @param stream - where lines go (stdout by default; tests capture them).
 */
export function createLogger(level: string, stream?: NodeJS.WritableStream): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'collateral-fhir' },
    transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
  });
}
