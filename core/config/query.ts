import { parseInteger, parseList, parseListen, parseString, v } from './schema.js';

export const query = {
  listen: v({ name: 'QUERY_LISTEN', default: ':16686', doc: 'Jaeger query API, log API and UI.', parse: parseListen }),
  adminListen: v({ name: 'QUERY_ADMIN_LISTEN', default: ':16687', doc: 'Admin port of query (/health, /metrics).', parse: parseListen }),
  authToken: v({ name: 'QUERY_AUTH_TOKEN', default: '', doc: 'When set, every API call needs Authorization: Bearer <token>.', parse: parseString, secret: true }),
  corsOrigins: v({
    name: 'QUERY_CORS_ORIGINS', default: '',
    doc: 'Origins allowed to call the API from a browser (comma list, * for any); none when empty.', parse: parseList,
  }),
  maxTraces: v({
    name: 'QUERY_MAX_TRACES', default: '1500',
    doc: 'Largest number of traces one search returns (a larger limit is lowered to it).', parse: parseInteger(1, 100_000),
  }),
  maxLogs: v({
    name: 'QUERY_MAX_LOGS', default: '1000',
    doc: 'Largest page of the log search; the NDJSON download streams up to 100 times this.', parse: parseInteger(1, 100_000),
  }),
};
