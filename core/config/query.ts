import { parseListen, parseString, v } from './schema.js';

export const query = {
  listen: v({ name: 'QUERY_LISTEN', default: ':16686', doc: 'Jaeger query API, log API and UI.', parse: parseListen }),
  adminListen: v({ name: 'QUERY_ADMIN_LISTEN', default: ':16687', doc: 'Admin port of query (/health, /metrics).', parse: parseListen }),
  authToken: v({ name: 'QUERY_AUTH_TOKEN', default: '', doc: 'When set, every API call needs Authorization: Bearer <token>.', parse: parseString, secret: true }),
};
