/**
 * The test Elasticsearch for the ES tests: `SHIPWATCH_TEST_ES_URL` (default http://127.0.0.1:9200, where
 * test/services/elasticsearch.sh starts one). Waits for yellow health so a node still starting is not a failure.
 */
import { Client } from '@elastic/elasticsearch';

export async function esTestUrl(): Promise<string> {
  const url = process.env.SHIPWATCH_TEST_ES_URL ?? 'http://127.0.0.1:9200';
  const client = new Client({ node: url, maxRetries: 0 });
  try {
    await client.cluster.health({ wait_for_status: 'yellow', timeout: '60s' });
  } catch (err) {
    throw new Error(`no Elasticsearch at ${url} (start it with test/services/elasticsearch.sh)`, { cause: err });
  } finally {
    await client.close();
  }
  return url;
}
