/**
 * A loopback stand-in for Elasticsearch's `_bulk` endpoint, only for the faults a real node will not produce on
 * demand (a 429 storm, items answering 503, an answer cut off halfway). Each request is handed to `respond` with
 * its number and the ids it carries; the stand-in records every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BulkRequestSeen {
  ids: string[];
}

export type StandInAnswer =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'items'; statuses: number[] }
  | { kind: 'cut' };

export interface BulkStandIn {
  url: string;
  requests: BulkRequestSeen[];
  close(): Promise<void>;
}

const PRODUCT = { 'x-elastic-product': 'Elasticsearch', 'content-type': 'application/json' };

export async function startBulkStandIn(respond: (n: number, ids: string[]) => StandInAnswer): Promise<BulkStandIn> {
  const requests: BulkRequestSeen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '');
      const ids: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const action = JSON.parse(lines[i]!) as Record<string, { _id: string }>;
        ids.push(Object.values(action)[0]!._id);
      }
      requests.push({ ids });
      const answer = respond(requests.length, ids);
      if (answer.kind === 'status') {
        res.writeHead(answer.status, { ...PRODUCT, ...answer.headers });
        res.end(JSON.stringify({ error: { type: 'es_rejected_execution_exception', reason: 'stand-in says no' }, status: answer.status }));
      } else if (answer.kind === 'cut') {
        const body = JSON.stringify({ errors: false, items: ids.map(() => ({ index: { status: 201 } })) });
        res.writeHead(200, { ...PRODUCT, 'content-length': String(body.length) });
        res.write(body.slice(0, Math.floor(body.length / 2)));
        setTimeout(() => res.socket?.destroy(), 10);
      } else {
        const items = ids.map((id, i) => {
          const status = answer.statuses[i] ?? 201;
          return status < 300
            ? { index: { _index: 'stand-in', _id: id, status } }
            : { index: { _index: 'stand-in', _id: id, status, error: { type: 'unavailable_shards_exception', reason: 'stand-in shard busy' } } };
        });
        res.writeHead(200, PRODUCT);
        res.end(JSON.stringify({ took: 1, errors: items.some((x) => x.index.status >= 300), items }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
