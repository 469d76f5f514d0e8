/**
 * The demo's sample application: a small shop of five services (frontend → checkout → inventory and payments,
 * inventory → postgres), each request one trace. The shape is fixed and the chance decides only latency, errors and
 * ids, so every page has something to show within one request: a dependency graph, a failing call, a slow query,
 * log lines at several levels and the metrics of each route.
 *
 * The services do not wait: a request's spans are given start and end times in the recent past, as a recorded
 * request would have them, so the demo costs a few milliseconds per request and none of the clock.
 */

export type SpanKindName = 'server' | 'client' | 'internal';

/** One span of a planned request, parent first; times in milliseconds from the request's start. */
export interface PlannedSpan {
  service: string;
  name: string;
  kind: SpanKindName;
  /** Index of the parent in the plan; -1 for the root. */
  parent: number;
  startMs: number;
  durationMs: number;
  attributes: Record<string, string | number | boolean>;
  error?: string;
  /** What the service logs while serving the span. */
  logs: PlannedLog[];
}

export interface PlannedLog {
  severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  body: string;
  attributes: Record<string, string | number | boolean>;
}

export interface PlannedRequest {
  route: string;
  status: number;
  durationMs: number;
  spans: PlannedSpan[];
}

export const DEMO_SERVICES = ['frontend', 'checkout', 'inventory', 'payments', 'postgres'] as const;

const ROUTES = ['/', '/product/{id}', '/cart', '/checkout'] as const;

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (random: () => number, low: number, high: number): number => Math.round((low + random() * (high - low)) * 10) / 10;

/** The next request the shop serves. */
export function planRequest(random: () => number): PlannedRequest {
  const route = pick(random, ROUTES);
  const spans: PlannedSpan[] = [];
  const add = (span: Omit<PlannedSpan, 'logs'> & { logs?: PlannedLog[] }): number => spans.push({ logs: [], ...span }) - 1;
  const productId = 1000 + Math.floor(random() * 50);

  const root = add({
    service: 'frontend', name: `GET ${route}`, kind: 'server', parent: -1, startMs: 0, durationMs: 0,
    attributes: { 'http.request.method': 'GET', 'http.route': route, 'url.path': route.replace('{id}', String(productId)) },
  });
  let status = 200;
  let cursor = between(random, 0.3, 1.5);

  // Reading the stock: frontend → inventory → postgres (every route but the home page).
  const readStock = (parent: number, forCheckout: boolean): number => {
    const call = add({
      service: parent === root ? 'frontend' : 'checkout', name: 'inventory.Reserve', kind: 'client', parent, startMs: cursor, durationMs: 0,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': 'shop.Inventory', 'rpc.method': forCheckout ? 'Reserve' : 'Lookup', 'peer.service': 'inventory' },
    });
    const serve = add({
      service: 'inventory', name: forCheckout ? 'shop.Inventory/Reserve' : 'shop.Inventory/Lookup', kind: 'server', parent: call,
      startMs: cursor + 0.4, durationMs: 0, attributes: { 'rpc.system': 'grpc', 'product.id': productId },
    });
    // One query in ten misses the index: the slow span the trace search finds by duration.
    const slow = random() < 0.1;
    const queryMs = slow ? between(random, 120, 400) : between(random, 1, 8);
    const query = add({
      service: 'inventory', name: 'SELECT shop.stock', kind: 'client', parent: serve, startMs: cursor + 0.8, durationMs: queryMs,
      attributes: { 'db.system': 'postgresql', 'db.namespace': 'shop', 'db.query.text': 'SELECT quantity FROM stock WHERE product_id = $1', 'peer.service': 'postgres', 'server.address': 'postgres' },
    });
    add({ service: 'postgres', name: 'SELECT', kind: 'server', parent: query, startMs: cursor + 1.0, durationMs: Math.max(0.2, queryMs - 0.5), attributes: { 'db.system': 'postgresql' } });
    spans[serve]!.logs.push(
      slow
        ? { severity: 'WARN', body: `slow stock query for product ${productId}: ${queryMs} ms (sequential scan)`, attributes: { 'product.id': productId, 'db.duration_ms': queryMs } }
        : { severity: 'DEBUG', body: `stock of product ${productId} read`, attributes: { 'product.id': productId } },
    );
    spans[serve]!.durationMs = queryMs + 1.4;
    spans[call]!.durationMs = queryMs + 2.2;
    cursor += queryMs + 2.6;
    return call;
  };

  if (route === '/product/{id}' || route === '/cart') readStock(root, false);
  if (route === '/checkout') {
    const call = add({
      service: 'frontend', name: 'POST /api/orders', kind: 'client', parent: root, startMs: cursor, durationMs: 0,
      attributes: { 'http.request.method': 'POST', 'url.full': 'http://checkout:8080/api/orders', 'peer.service': 'checkout' },
    });
    const started = cursor;
    const serve = add({
      service: 'checkout', name: 'POST /api/orders', kind: 'server', parent: call, startMs: cursor + 0.6, durationMs: 0,
      attributes: { 'http.request.method': 'POST', 'http.route': '/api/orders' },
    });
    cursor += 1;
    readStock(serve, true);
    const orderId = `o-${Math.floor(random() * 1e6).toString(36)}`;
    const chargeMs = between(random, 20, 90);
    const declined = random() < 0.08;
    const charge = add({
      service: 'checkout', name: 'POST /charge', kind: 'client', parent: serve, startMs: cursor, durationMs: chargeMs + 1,
      attributes: { 'http.request.method': 'POST', 'url.full': 'http://payments:8080/charge', 'peer.service': 'payments', 'order.id': orderId },
    });
    const pay = add({
      service: 'payments', name: 'POST /charge', kind: 'server', parent: charge, startMs: cursor + 0.5, durationMs: chargeMs,
      attributes: { 'http.request.method': 'POST', 'http.route': '/charge', 'order.id': orderId, 'http.response.status_code': declined ? 402 : 200 },
      ...(declined ? { error: 'card declined' } : {}),
    });
    spans[pay]!.logs.push(
      declined
        ? { severity: 'ERROR', body: `charge for order ${orderId} declined: card expired`, attributes: { 'order.id': orderId, 'payment.provider': 'demo-card' } }
        : { severity: 'INFO', body: `order ${orderId} charged`, attributes: { 'order.id': orderId, 'payment.provider': 'demo-card', 'payment.amount': between(random, 5, 250) } },
    );
    if (declined) {
      spans[charge]!.error = 'payments answered 402';
      spans[charge]!.attributes['http.response.status_code'] = 402;
      status = 502;
    }
    cursor += chargeMs + 1.5;
    spans[serve]!.durationMs = cursor - started - 0.6;
    spans[serve]!.attributes['http.response.status_code'] = declined ? 502 : 201;
    spans[serve]!.logs.push({ severity: declined ? 'WARN' : 'INFO', body: declined ? `order ${orderId} not placed: payment failed` : `order ${orderId} placed`, attributes: { 'order.id': orderId } });
    spans[call]!.durationMs = cursor - started;
    spans[call]!.attributes['http.response.status_code'] = declined ? 502 : 201;
    if (declined) spans[call]!.error = 'checkout answered 502';
    cursor += 0.5;
  }
  cursor += between(random, 0.5, 3);
  spans[root]!.durationMs = cursor;
  spans[root]!.attributes['http.response.status_code'] = status;
  if (status >= 500) spans[root]!.error = `GET ${route} failed with ${status}`;
  spans[root]!.logs.push({
    severity: status >= 500 ? 'ERROR' : 'INFO',
    body: `GET ${spans[root]!.attributes['url.path']} ${status} ${cursor.toFixed(1)} ms`,
    attributes: { 'http.route': route, 'http.response.status_code': status },
  });
  return { route, status, durationMs: cursor, spans };
}
