import { parseListen, v } from './schema.js';

export const collector = {
  adminListen: v({ name: 'COLLECTOR_ADMIN_LISTEN', default: ':14269', doc: 'Admin port of the collector (/health, /metrics, line protocol /write).', parse: parseListen }),
};
