/**
 * The listing of tag values the span writer keeps (span-schema.ts: `tag_keys` / `tag_values`): each key's values
 * while it has at most `MAX_LISTED_VALUES` of them, which a regular-expression search enumerates; a key with more is
 * marked `many`. Alongside, what the writer needs to know cheaply per tag: the hash of a listed value without hashing
 * it again, and whether a hash already made (from a datagram's bytes, model/jaeger-thrift/jaeger-compact-spans.ts) is a
 * listed value's. Runs inside the writer's transaction; `load` again after a rollback.
 */
import type { Statement } from 'better-sqlite3';
import type { CompactSpanTags } from '../../model/jaeger-thrift/jaeger-compact-tags.js';
import { keyLaneA, keyLaneB, tagHash, tagHashAscii } from '../../model/tag-hash.js';
import type { Db } from './database.js';
import { TagHashSet } from './tag-hash-set.js';

/**
 * Distinct values of a tag key listed in `tag_values` (what a regular-expression search enumerates); a key with more
 * is marked `many`, and a regular expression over it is checked on each candidate span instead.
 */
export const MAX_LISTED_VALUES = 2_000;

/** What is known of one tag key's values. */
interface KeyValues {
  /** More than `MAX_LISTED_VALUES` values: none listed any more. */
  many: boolean;
  /** Listed value → its hash. */
  byValue: Map<string, number>;
  /** The key's hash lanes (model/tag-hash.ts), for hashing values from their bytes. */
  laneA: number;
  laneB: number;
}

export class TagListing {
  private readonly insertValue: Statement;
  private readonly insertKey: Statement;
  private readonly markMany: Statement;
  private readonly dropValues: Statement;
  private keys = new Map<string, KeyValues>();
  /**
   * The hashes of every listed value of every key. A value whose key lists no more stays here: nothing is to be
   * done for it either. Two values with the same 52-bit hash would list only the first, which costs a
   * regular-expression search nothing but that value's own listing.
   */
  private listed = new TagHashSet();

  constructor(private readonly db: Db) {
    this.insertValue = db.prepare('INSERT OR IGNORE INTO tag_values (key, value) VALUES (?, ?)');
    this.insertKey = db.prepare('INSERT OR IGNORE INTO tag_keys (key, many) VALUES (?, 0)');
    this.markMany = db.prepare('UPDATE tag_keys SET many = 1 WHERE key = ?');
    this.dropValues = db.prepare('DELETE FROM tag_values WHERE key = ?');
    this.load();
  }

  /**
   * The tag's hash, listing the value when its key lists values. A listed value keeps its hash: most tags of a span
   * repeat one of a few values (methods, status codes, components), found by two lookups.
   */
  hash(key: string, value: string): number {
    const known = this.keyValues(key);
    if (known.many) return tagHash(key, value);
    const listed = known.byValue.get(value);
    if (listed !== undefined) return listed;
    const hash = tagHash(key, value);
    this.list(key, known, value, hash);
    return hash;
  }

  /** `hash` of a string tag read as bytes: hashed from them while they are ASCII (no string made). */
  hashAscii(key: string, tag: CompactSpanTags): number {
    const known = this.keyValues(key);
    const hash = tagHashAscii(known.laneA, known.laneB, tag.bytes, tag.strStart, tag.strEnd);
    if (hash < 0) return this.hash(key, tag.valueText());
    if (!known.many && !this.listed.has(hash)) this.list(key, known, tag.valueText(), hash);
    return hash;
  }

  /** Whether the hash is a listed value's (or was, of a key that lists no more). */
  isListed(hash: number): boolean {
    return this.listed.has(hash);
  }

  /** A tag whose hash (already made) is not listed: listed now, unless its key lists no more values. */
  learn(tag: CompactSpanTags, hash: number): void {
    const key = tag.key();
    const known = this.keyValues(key);
    if (!known.many) this.list(key, known, tag.valueText(), hash);
  }

  /** What the database lists (at start, and after a rollback). */
  load(): void {
    this.keys = new Map();
    this.listed = new TagHashSet();
    for (const { key, many } of this.db.prepare('SELECT key, many FROM tag_keys').iterate() as IterableIterator<{ key: string; many: number }>) {
      this.keys.set(key, newKeyValues(key, many !== 0));
    }
    for (const { key, value } of this.db.prepare('SELECT key, value FROM tag_values').iterate() as IterableIterator<{ key: string; value: string }>) {
      const known = this.keys.get(key);
      if (known !== undefined && !known.many) {
        const hash = tagHash(key, value);
        known.byValue.set(value, hash);
        this.listed.add(hash);
      }
    }
  }

  private keyValues(key: string): KeyValues {
    let known = this.keys.get(key);
    if (known === undefined) {
      known = newKeyValues(key, false);
      this.keys.set(key, known);
      this.insertKey.run(key);
    }
    return known;
  }

  /** Lists a new value of the key, or marks the key `many` when it has `MAX_LISTED_VALUES` already. */
  private list(key: string, known: KeyValues, value: string, hash: number): void {
    if (known.byValue.size >= MAX_LISTED_VALUES) {
      this.markMany.run(key);
      this.dropValues.run(key);
      known.many = true;
      known.byValue = new Map();
      return;
    }
    this.insertValue.run(key, value);
    known.byValue.set(value, hash);
    this.listed.add(hash);
  }
}

function newKeyValues(key: string, many: boolean): KeyValues {
  return { many, byValue: new Map(), laneA: keyLaneA(key), laneB: keyLaneB(key) };
}
