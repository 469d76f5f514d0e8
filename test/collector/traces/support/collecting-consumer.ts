/**
 * A span consumer for receiver tests: keeps what it accepts (spans handed over in their wire form decoded, as a
 * storage wanting objects decodes them), and answers 'busy' while `busy` is set (the one fault a test cannot
 * otherwise produce on demand: a full storage queue).
 */
import { chunkSize, chunkSpans, type Span, type SpanChunk, type SpanConsumer } from '../../../../model/span.js';

export class CollectingConsumer implements SpanConsumer {
  readonly spans: Span[] = [];
  busy = false;
  refused = 0;

  consume(spans: SpanChunk): 'accepted' | 'busy' {
    if (this.busy) {
      this.refused += chunkSize(spans);
      return 'busy';
    }
    this.spans.push(...chunkSpans(spans));
    return 'accepted';
  }

  /** Resolves once `n` spans have arrived; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 5000): Promise<Span[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.spans.length < n) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${n} spans, got ${this.spans.length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.spans;
  }
}

/** The value of a counter child in a registry, 0 when never incremented. */
export async function counterValue(registry: import('prom-client').Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit ? hit.value : 0;
}
