/** Reading a program's own `/metrics` (Prometheus text format) in tests. */

/** The sum of a metric's samples in `text` whose labels include all of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** The same, read from an admin port's `/metrics` (`adminUrl` without the path). */
export async function scrapeMetric(adminUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(await (await fetch(`${adminUrl}/metrics`)).text(), name, labels);
}
