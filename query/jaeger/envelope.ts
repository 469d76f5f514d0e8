/**
 * The response shapes of Jaeger's query APIs: v1's envelope `{data, total, limit, offset, errors}` (errors `null`
 * when there are none, each error `{code, msg}` or `{msg, traceID}` for a trace id not found) and v3's
 * `{"error": {"httpCode", "message"}}`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface StructuredError {
  code?: number;
  msg: string;
  traceID?: string;
}

export interface Envelope {
  data: unknown;
  total: number;
  limit: number;
  offset: number;
  errors: StructuredError[] | null;
}

export function envelope(data: unknown, more: Partial<Omit<Envelope, 'data'>> = {}): Envelope {
  return { data, total: more.total ?? 0, limit: more.limit ?? 0, offset: more.offset ?? 0, errors: more.errors && more.errors.length > 0 ? more.errors : null };
}

export function sendV1Error(reply: FastifyReply, status: number, msg: string): FastifyReply {
  return reply.status(status).send(envelope(null, { errors: [{ code: status, msg }] }));
}

export function sendV3Error(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).send({ error: { httpCode: status, message } });
}

/** Errors on a v3 route take v3's shape, every other API route v1's envelope. */
export function sendApiError(req: FastifyRequest, reply: FastifyReply, status: number, msg: string): FastifyReply {
  return req.url.startsWith('/api/v3/') ? sendV3Error(reply, status, msg) : sendV1Error(reply, status, msg);
}

type Query = Record<string, string | string[] | undefined>;

/** Every value of a repeated query parameter. */
export function allValues(query: unknown, name: string): string[] {
  const v = (query as Query)[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The first value of a query parameter, '' when absent (Go's `FormValue`). */
export function firstValue(query: unknown, name: string): string {
  return allValues(query, name)[0] ?? '';
}
