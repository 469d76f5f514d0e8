/**
 * The one registry of Shipwatch's error codes (fastify's FST_ERR_* idea). Every error a user can see carries one
 * of these codes; the README's error table is checked against this registry by test/readme.test.ts.
 */
export interface ErrorDef {
  /** What happened, as the user reads it; `%s` is replaced by the detail. */
  message: string;
  /** HTTP status when the error answers a request. */
  status: number;
}

export const ERRORS = {
  SW_CONFIG_INVALID: { message: 'invalid configuration: %s', status: 500 },
  SW_USAGE: { message: 'usage: %s', status: 400 },
  SW_NOT_IMPLEMENTED: { message: '%s is not built yet', status: 501 },
  SW_ENGINE_UNAVAILABLE: { message: 'container engine unavailable: %s', status: 503 },
  SW_DECLARATION_INVALID: { message: 'invalid log declaration: %s', status: 400 },
  SW_PATH_REFUSED: { message: 'path refused: %s', status: 403 },
  SW_OUTPUT_FAILED: { message: 'output failed: %s', status: 502 },
  SW_STORE_FAILED: { message: 'embedded store failed: %s', status: 500 },
  SW_BAD_REQUEST: { message: 'bad request: %s', status: 400 },
  SW_PAYLOAD_TOO_LARGE: { message: 'request too large: %s', status: 413 },
  SW_UNSUPPORTED_MEDIA_TYPE: { message: 'unsupported content type: %s', status: 415 },
  SW_BUSY: { message: 'storage cannot keep up: %s', status: 503 },
  SW_STORAGE_UNAVAILABLE: { message: 'storage unavailable: %s', status: 503 },
  SW_STORAGE_FAILED: { message: 'storage answered an error: %s', status: 502 },
  SW_UNAUTHORIZED: { message: 'unauthorized: %s', status: 401 },
  SW_NOT_FOUND: { message: 'not found: %s', status: 404 },
  SW_INTERNAL: { message: 'internal error: %s', status: 500 },
  SW_INFLUXDB_REJECTED: { message: 'InfluxDB refused the write: %s', status: 502 },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export class ShipwatchError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(ERRORS[code].message.replace('%s', detail), options);
    this.name = 'ShipwatchError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
  }
}

export function swError(code: ErrorCode, detail: string, cause?: unknown): ShipwatchError {
  return new ShipwatchError(code, detail, cause === undefined ? undefined : { cause });
}

/** A short, single-line description of anything thrown, for logs and counters. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
