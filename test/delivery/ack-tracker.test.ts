import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckTracker } from '../../delivery/ack-tracker.js';

test('the committed position waits for the oldest batch even when later ones finish first', () => {
  const commits: number[] = [];
  const t = new AckTracker(100, (p) => commits.push(p));
  const a = t.issue(200);
  const b = t.issue(300);
  const c = t.issue(400);
  t.complete(c);
  t.complete(b);
  assert.equal(t.committed, 100);
  assert.deepEqual(commits, []);
  t.complete(a);
  assert.equal(t.committed, 400);
  assert.deepEqual(commits, [400]);
  assert.equal(t.outstanding, 0);
});

test('completing a batch twice changes nothing', () => {
  const t = new AckTracker(0);
  const a = t.issue(10);
  const b = t.issue(20);
  t.complete(a);
  t.complete(a);
  assert.equal(t.committed, 10);
  assert.equal(t.outstanding, 1);
  t.complete(b);
  assert.equal(t.committed, 20);
});

test('positions cannot go backwards without a reset, and a reset forgets the old batches', () => {
  const commits: number[] = [];
  const t = new AckTracker(0, (p) => commits.push(p));
  const old = t.issue(50);
  assert.throws(() => t.issue(40), RangeError);
  t.reset(0);
  assert.equal(t.outstanding, 0);
  const fresh = t.issue(30);
  t.complete(old);
  assert.equal(t.committed, 0, 'a batch of the content before the truncation moves nothing');
  t.complete(fresh);
  assert.equal(t.committed, 30);
  assert.deepEqual(commits, [0, 30]);
});

test('a long run of batches completed in reverse commits once, at the end', () => {
  const t = new AckTracker(0);
  const tickets = Array.from({ length: 5000 }, (_, i) => t.issue((i + 1) * 10));
  for (let i = tickets.length - 1; i > 0; i--) t.complete(tickets[i]!);
  assert.equal(t.committed, 0);
  t.complete(tickets[0]!);
  assert.equal(t.committed, 50_000);
});

test('settled reports whether everything was acknowledged in time', async () => {
  const t = new AckTracker(0);
  const a = t.issue(1);
  assert.equal(await t.settled(50), false);
  setTimeout(() => t.complete(a), 10);
  assert.equal(await t.settled(1000), true);
});
