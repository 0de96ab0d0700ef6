import { randomBytes } from 'node:crypto';
import { PreKeyPool } from './prekey-pool';

const keys = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: from + i, publicKey: randomBytes(32) }));

describe('PreKeyPool', () => {
  it('hands out prekeys first in, first out, each once', () => {
    const pool = new PreKeyPool();
    const uploaded = keys(1, 3);
    pool.add(uploaded);
    expect([pool.take(), pool.take(), pool.take()]).toEqual(uploaded);
    expect(pool.take()).toBeUndefined();
    expect(pool.size).toBe(0);
  });

  it('keeps order across growth and compaction', () => {
    const pool = new PreKeyPool();
    pool.add(keys(1, 812));
    for (let i = 0; i < 800; i++) pool.take();
    pool.add(keys(813, 50));
    expect(pool.size).toBe(62);
    const ids: number[] = [];
    for (let k = pool.take(); k; k = pool.take()) ids.push(k.id);
    expect(ids).toEqual(Array.from({ length: 62 }, (_, i) => 801 + i));
  });

  it('survives a JSON round trip with only the prekeys not yet handed out', () => {
    const pool = new PreKeyPool();
    const uploaded = keys(10, 5);
    pool.add(uploaded);
    pool.take();
    const copy = PreKeyPool.fromJSON(JSON.parse(JSON.stringify(pool)) as ReturnType<PreKeyPool['toJSON']>);
    expect(copy.size).toBe(4);
    expect(copy.take()).toEqual(uploaded[1]);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new PreKeyPool().add([{ id: 1, publicKey: randomBytes(33) }])).toThrow(/32/);
  });
});
