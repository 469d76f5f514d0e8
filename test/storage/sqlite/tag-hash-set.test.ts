import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TagHashSet } from '../../../storage/sqlite/tag-hash-set.js';
import { tagHash } from '../../../model/tag-hash.js';
import { seededRandom } from '../../helpers/seeded-random.js';

test('the set holds each hash once and gives them back ascending, as a Set sorted would', () => {
  const r = seededRandom(11);
  const set = new TagHashSet();
  const reference = new Set<number>();
  // Enough distinct hashes to grow the table several times, each added more than once.
  for (let i = 0; i < 30_000; i++) {
    const hash = tagHash(`key-${Math.floor(r() * 40)}`, `value-${Math.floor(r() * 600)}`);
    set.add(hash);
    reference.add(hash);
  }
  assert.equal(set.size, reference.size);
  assert.ok(reference.size > 10_000, 'the table grew past its first size');
  assert.deepEqual([...set.sorted()], [...reference].sort((a, b) => a - b));
});

test('hashes sharing their low 32 bits, zero and the largest hash are all kept apart', () => {
  const set = new TagHashSet();
  const top = 2 ** 52 - 1;
  const hashes = [0, 1, 2 ** 32, 2 * 2 ** 32, 2 ** 32 + 1, top, top - 2 ** 32];
  for (const h of [...hashes, ...hashes]) set.add(h);
  assert.deepEqual([...set.sorted()], [...hashes].sort((a, b) => a - b));
});

test('a cleared set is empty and fills again', () => {
  const set = new TagHashSet();
  for (let i = 0; i < 5_000; i++) set.add(i * 7_919);
  set.clear();
  assert.equal(set.size, 0);
  assert.deepEqual([...set.sorted()], []);
  set.add(42);
  set.add(42);
  assert.deepEqual([...set.sorted()], [42]);
});
