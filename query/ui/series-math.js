// Arithmetic on chart series, free of the page so Node's tests run it as the browser does.

/**
 * A counter's rate per second from its value at the end of each step (`[timeMs, value]` by time), as Prometheus's
 * rate reads a counter: the increase between two points over the seconds between them; a value lower than the one
 * before is a restart from zero, so the increase is the value itself. The first point has no rate.
 */
export function counterRate(points) {
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const [t0, v0] = points[i - 1];
    const [t1, v1] = points[i];
    const seconds = (t1 - t0) / 1000;
    if (!(seconds > 0)) continue;
    const increase = v1 >= v0 ? v1 - v0 : v1;
    out.push([t1, increase / seconds]);
  }
  return out;
}

/** The queries of the metrics page in its address: the first one as separate parameters, the others in `also`. */
export function queriesFromParams(params) {
  const first = { measurement: params.measurement, field: params.field, aggregate: params.aggregate, tagKey: params.tagKey, tagValue: params.tagValue };
  let also = [];
  try {
    const parsed = JSON.parse(params.also ?? '[]');
    if (Array.isArray(parsed)) also = parsed.filter((q) => q && typeof q === 'object');
  } catch {
    // An address edited by hand: the first query stands alone.
  }
  return [first, ...also.map((q) => ({ measurement: q.m, field: q.f, aggregate: q.a, tagKey: q.k, tagValue: q.v }))];
}

export function paramsFromQueries(queries) {
  const [first, ...rest] = queries;
  return {
    measurement: first.measurement, field: first.field, aggregate: first.aggregate,
    tagKey: first.tagKey, tagValue: first.tagKey ? first.tagValue : '',
    also: rest.length === 0 ? '' : JSON.stringify(rest.map((q) => ({ m: q.measurement, f: q.field, a: q.aggregate, k: q.tagKey || undefined, v: q.tagKey ? q.tagValue || undefined : undefined }))),
  };
}
