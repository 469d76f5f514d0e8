/**
 * Installs the index template (./log-index-templates.ts) of each index the pilot's documents go to, before the
 * first document reaches it: the bulk sink hands every run of items here before sending it. Nothing is asked at
 * start, so the pilot starts while Elasticsearch is down (records wait in the disk buffer); the first request that
 * reaches it installs what that request needs, and later ones find it done.
 *
 * - A template of this version or newer already there is left alone (several pilots, an operator's own edit).
 * - Elasticsearch unreachable, busy or failing (connection errors, 429, 5xx): the error is thrown and the run is
 *   tried again by the delivery chain, like a failed bulk request.
 * - Refused (no privilege to manage templates, a setting this Elasticsearch does not know): logged once per template
 *   and documents are written without it. An Elasticsearch without an optional part (8.14's
 *   `ignore_dynamic_beyond_limit`, X-Pack's `constant_keyword`) gets the template without it.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../../platform/log.js';
import type { BulkItems } from './bulk-items.js';
import { classifyRequestError } from './bulk-response.js';
import { simplerTemplate, templateForIndex, type LogIndexTemplate } from './log-index-templates.js';
import { esProblem } from './request-failure.js';

const INDEX_KEY = Buffer.from('"_index":"', 'latin1');
/** Index names remembered as settled; past this the memory starts over (a few indices a target a day). */
const MAX_KNOWN_INDICES = 10_000;

export class LogTemplateInstaller {
  /** Indices whose template is settled (installed, found, or refused for good). */
  private readonly known = new Set<string>();
  private readonly settled = new Set<string>();
  private readonly installing = new Map<string, Promise<void>>();

  constructor(
    private readonly client: Client,
    private readonly rotation: 'daily' | 'monthly' | 'none' | 'datastream',
    private readonly log: Logger,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  /** Installs the templates `items`' indices need and lack; throws when Elasticsearch cannot be asked now. */
  async ensureFor(items: BulkItems, signal: AbortSignal): Promise<void> {
    const { bytes, ends } = items;
    let last = '';
    let missing: Set<string> | undefined;
    for (let i = 0, start = 0; i < ends.length; start = ends[i]!, i++) {
      const at = bytes.indexOf(INDEX_KEY, start);
      if (at < 0 || at >= ends[i]!) continue;
      const from = at + INDEX_KEY.length;
      const index = bytes.toString('latin1', from, bytes.indexOf(0x22, from));
      if (index === last) continue;
      last = index;
      if (!this.known.has(index)) (missing ??= new Set()).add(index);
    }
    if (missing === undefined) return;
    for (const index of missing) {
      const t = templateForIndex(index, this.rotation);
      if (!this.settled.has(t.name)) await this.install(t, signal);
      if (this.known.size >= MAX_KNOWN_INDICES) this.known.clear();
      this.known.add(index);
    }
  }

  private install(t: LogIndexTemplate, signal: AbortSignal): Promise<void> {
    let p = this.installing.get(t.name);
    if (p === undefined) {
      p = this.put(t, signal).finally(() => this.installing.delete(t.name));
      this.installing.set(t.name, p);
    }
    return p;
  }

  private async put(t: LogIndexTemplate, signal: AbortSignal): Promise<void> {
    const options = { signal, requestTimeout: this.requestTimeoutMs };
    try {
      const found = await this.client.indices.getIndexTemplate({ name: t.name }, { ...options, ignore: [404] });
      const version = found.index_templates?.[0]?.index_template.version;
      if (typeof version === 'number' && version >= t.body.version) {
        this.settled.add(t.name);
        return;
      }
      for (let put: LogIndexTemplate | undefined = t; ;) {
        try {
          await this.client.indices.putIndexTemplate({ name: put.name, ...put.body } as never, options);
          break;
        } catch (err) {
          put = simplerTemplate(put, refusalText(err));
          if (put === undefined) throw err;
        }
      }
      this.settled.add(t.name);
      this.log.info('log index template installed', { template: t.name, version: t.body.version });
    } catch (err) {
      if (signal.aborted || classifyRequestError(err).retry) throw err;
      // Refused for good: documents go on without it (the safe shape still keeps conflicting lines).
      this.settled.add(t.name);
      this.log.error('Elasticsearch refused the log index template; documents are written without it', { template: t.name, error: esProblem(err) });
    }
  }
}

/** An error answer's text, causes included (the part refused is named in a nested cause). */
function refusalText(err: unknown): string {
  const body = (err as { meta?: { body?: unknown } } | null)?.meta?.body;
  return body === undefined ? esProblem(err) : JSON.stringify(body);
}
