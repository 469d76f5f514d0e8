/**
 * The metric API's reader chosen by `METRIC_STORAGE_TYPE`: the embedded store (where `METRICS_STORE` keeps the
 * collector's metrics), or InfluxDB's InfluxQL API (INFLUXDB_URL, INFLUXDB_BUCKET, INFLUXDB_TOKEN: where the collector's
 * InfluxDB output writes), so a query apart from the collector shows the same metrics.
 */
import { swError } from '../platform/errors.js';
import type { Registry } from '../platform/self-metrics.js';
import type { Runtime } from '../platform/runtime.js';
import { InfluxMetricReader } from './influxdb/metric-reader.js';
import type { MetricReader } from './sqlite/metric-query.js';
import { openStoreMetricStorage } from './sqlite/metric-store.js';

export function createMetricReader(runtime: Runtime, registry?: Registry): MetricReader {
  const { query } = runtime.config;
  if (query.metricStorageType === 'store') return openStoreMetricStorage(runtime, registry);
  if (query.influxdbUrl === '') throw swError('SW_CONFIG_INVALID', 'INFLUXDB_URL: needed with METRIC_STORAGE_TYPE=influxdb');
  if (query.influxdbBucket === '') throw swError('SW_CONFIG_INVALID', 'INFLUXDB_BUCKET: needed with METRIC_STORAGE_TYPE=influxdb');
  return new InfluxMetricReader({ url: query.influxdbUrl, token: query.influxdbToken, bucket: query.influxdbBucket, timeoutMs: query.influxdbTimeoutMs });
}
