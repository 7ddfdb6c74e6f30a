import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorName } from './codes.js';

/** The JSON body of every error response: `{statusCode, code, error, message}`. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/**
 * An error with a registered code. Stages throw or return these; the HTTP layer turns them into
 * responses without knowing where they came from.
 */
export class PharosError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Seconds to put in `Retry-After` (429 and 503 always carry one). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    name: ErrorName,
    message: string,
    options?: { retryAfterSeconds?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const definition = ERRORS[name];
    this.name = 'PharosError';
    this.code = definition.code;
    this.statusCode = definition.statusCode;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return errorBody(this.statusCode, this.code, this.message);
  }
}

export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

export function isPharosError(value: unknown): value is PharosError {
  return value instanceof PharosError;
}
