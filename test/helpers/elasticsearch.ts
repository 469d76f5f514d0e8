/**
 * Reading back what a test wrote to the test Elasticsearch, through the real client. Each call opens and closes
 * its own client, so a test file leaves no socket behind.
 *
 * The node is Maven Central's integ-test-zip: core APIs only. No `GET /` (use `nodes.info`), no data streams,
 * no `_delete_by_query`, no painless scripts, no ingest processors.
 */
import { Client, estypes } from '@elastic/elasticsearch';
import { testServices } from './services.js';

/** A client on the test node (the caller closes it). */
export function esClient(): Client {
  return new Client({ node: testServices().esUrl, maxRetries: 0, requestTimeout: 30_000 });
}

async function withClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const client = esClient();
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Makes everything written so far searchable. Missing indices are fine. */
export function refresh(index = '_all'): Promise<void> {
  return withClient(async (client) => {
    await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  });
}

export interface ReadOptions {
  /** Refresh the indices first (default true: a test reads what it has just written). */
  refresh?: boolean;
}

/** How many documents match (all by default); 0 when no index matches. */
export function count(index: string, query?: estypes.QueryDslQueryContainer, options: ReadOptions = {}): Promise<number> {
  return withClient(async (client) => {
    if (options.refresh ?? true) await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    const r = await client.count({ index, ignore_unavailable: true, allow_no_indices: true, ...(query ? { query } : {}) });
    return r.count;
  });
}

export interface SearchOptions extends ReadOptions {
  query?: estypes.QueryDslQueryContainer;
  sort?: estypes.Sort;
  /** Default 1000. */
  size?: number;
}

export interface Hit<T> {
  id: string;
  index: string;
  source: T;
}

/** The matching documents (all by default, up to `size`), with their ids and indices. */
export function search<T = Record<string, unknown>>(index: string, options: SearchOptions = {}): Promise<Array<Hit<T>>> {
  return withClient(async (client) => {
    if (options.refresh ?? true) await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    const r = await client.search<T>({
      index,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: options.size ?? 1000,
      ...(options.query ? { query: options.query } : {}),
      ...(options.sort ? { sort: options.sort } : {}),
    });
    return r.hits.hits.map((h) => ({ id: h._id ?? '', index: h._index, source: h._source as T }));
  });
}

/** Deletes the indices matching a pattern (`sw-test-*`), hidden ones included; none matching is fine. */
export function deleteIndices(pattern: string): Promise<void> {
  return withClient(async (client) => {
    await client.indices.delete({ index: pattern, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' });
  });
}

/** Deletes the composable and legacy index templates matching a pattern; none matching is fine. */
export function deleteIndexTemplates(pattern: string): Promise<void> {
  return withClient(async (client) => {
    await client.indices.deleteIndexTemplate({ name: pattern }, { ignore: [404] });
    await client.indices.deleteTemplate({ name: pattern }, { ignore: [404] });
  });
}

/** The node's version (the integ-test-zip has no `GET /`, so it comes from the nodes API). */
export function esVersion(): Promise<string> {
  return withClient(async (client) => {
    const r = await client.nodes.info({ node_id: '_local', metric: '_none' });
    const node = Object.values(r.nodes)[0];
    if (!node) throw new Error('the nodes API named no node');
    return node.version;
  });
}

/** The test node's URL once it answers yellow health, so a node still starting is not a failure. */
export async function esTestUrl(): Promise<string> {
  const url = testServices().esUrl;
  await withClient(async (client) => {
    try {
      await client.cluster.health({ wait_for_status: 'yellow', timeout: '60s' });
    } catch (err) {
      throw new Error(`no Elasticsearch at ${url} (the test runner starts it: npm test)`, { cause: err });
    }
  });
  return url;
}

export interface ScanOptions extends ReadOptions {
  query?: estypes.QueryDslQueryContainer;
  /** Source fields to return (default all). */
  fields?: string[];
}

/** Every matching document (beyond the 10,000 a search returns), with its `_version`, through the scroll API. */
export function scan<T = Record<string, unknown>>(index: string, options: ScanOptions = {}): Promise<Array<Hit<T> & { version: number }>> {
  return withClient(async (client) => {
    if (options.refresh ?? true) await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    const out: Array<Hit<T> & { version: number }> = [];
    let r = await client.search<T>({
      index, ignore_unavailable: true, allow_no_indices: true, scroll: '1m', size: 5000, version: true, sort: ['_doc'],
      ...(options.query ? { query: options.query } : {}),
      ...(options.fields ? { _source: options.fields } : {}),
    });
    try {
      while (r.hits.hits.length > 0) {
        for (const h of r.hits.hits) out.push({ id: h._id ?? '', index: h._index, source: h._source as T, version: h._version ?? 0 });
        if (!r._scroll_id) break;
        r = await client.scroll<T>({ scroll_id: r._scroll_id, scroll: '1m' });
      }
    } finally {
      if (r._scroll_id) await client.clearScroll({ scroll_id: r._scroll_id });
    }
    return out;
  });
}

/** A data stream's backing indices, oldest first; none when it does not exist. */
export async function backingIndices(client: Client, stream: string): Promise<string[]> {
  const r = await client.indices.resolveIndex({ name: stream, expand_wildcards: 'all' }, { ignore: [404] });
  return (r.data_streams?.[0]?.backing_indices as string[] | undefined) ?? [];
}

/**
 * Leaves a data stream (if there) with one empty write index: a rollover, then every older backing index deleted.
 * The integ-test distribution has no data stream API, so a stream cannot be deleted there: tests reuse theirs.
 */
export async function emptyDataStream(client: Client, stream: string): Promise<void> {
  if ((await backingIndices(client, stream)).length === 0) return;
  await client.indices.rollover({ alias: stream });
  const old = (await backingIndices(client, stream)).slice(0, -1);
  if (old.length > 0) await client.indices.delete({ index: old.join(',') });
}
