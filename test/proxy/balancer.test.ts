import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Balancer, type Candidate } from '../../src/proxy/balancer.js';

const backend = (id: string, active = 0): Candidate & { available: boolean; active: number } => ({
  id,
  available: true,
  active,
});

describe('balancer', () => {
  test('round-robin visits every available backend in turn and skips unavailable ones', () => {
    const list = [backend('a'), backend('b'), backend('c')];
    const b = new Balancer('round-robin', list);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => b.pick()?.id),
      ['a', 'b', 'c', 'a', 'b', 'c'],
    );
    list[1]!.available = false;
    assert.deepEqual(
      [1, 2, 3, 4].map(() => b.pick()?.id),
      ['a', 'c', 'a', 'c'],
    );
    for (const x of list) x.available = false;
    assert.equal(b.pick(), undefined);
  });

  test('least-connections picks the least busy, ties in turn', () => {
    const list = [backend('a', 3), backend('b', 1), backend('c', 1)];
    const b = new Balancer('least-connections', list);
    assert.equal(b.pick()?.id, 'b');
    assert.equal(b.pick()?.id, 'c');
    list[0]!.active = 0;
    assert.equal(b.pick()?.id, 'a');
  });

  test('hashing is sticky and spreads keys', () => {
    const list = ['a', 'b', 'c', 'd'].map((id) => backend(id));
    const b = new Balancer('hash', list);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const first = b.pick(`user-${i}`)!.id;
      assert.equal(b.pick(`user-${i}`)!.id, first);
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    // Each of 4 backends gets a fair share (1000 expected; 160 virtual nodes keep it within ~25%).
    for (const id of ['a', 'b', 'c', 'd'])
      assert.ok(counts.get(id)! > 700 && counts.get(id)! < 1300, `${id}: ${counts.get(id)}`);
  });

  test('removing or adding a backend moves only the keys it loses or gains', () => {
    const four = ['a', 'b', 'c', 'd'].map((id) => backend(id));
    const b = new Balancer('hash', four);
    const before = new Map<string, string>();
    for (let i = 0; i < 4000; i++) before.set(`k${i}`, b.pick(`k${i}`)!.id);
    b.setBackends(four.filter((x) => x.id !== 'd'));
    let moved = 0;
    for (const [key, id] of before) {
      const now = b.pick(key)!.id;
      if (id !== 'd') assert.equal(now, id, `${key} moved from ${id} although ${id} stayed`);
      else moved++;
    }
    assert.equal(moved, [...before.values()].filter((id) => id === 'd').length);
    // Adding a fifth: only keys that now land on it move.
    b.setBackends([...four, backend('e')]);
    for (const [key, id] of before) {
      const now = b.pick(key)!.id;
      assert.ok(now === id || now === 'e', `${key} moved from ${id} to ${now}`);
    }
  });

  test('a backend that is down hands its keys to others; back up, it gets them back', () => {
    const list = ['a', 'b', 'c'].map((id) => backend(id));
    const b = new Balancer('hash', list);
    const key = [...Array(100).keys()].map((i) => `s${i}`).find((k) => b.pick(k)!.id === 'b')!;
    list[1]!.available = false;
    assert.notEqual(b.pick(key)!.id, 'b');
    list[1]!.available = true;
    assert.equal(b.pick(key)!.id, 'b');
  });
});
