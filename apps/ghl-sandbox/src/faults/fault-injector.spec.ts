import { FaultInjector } from './fault-injector';

const target = { method: 'POST', path: '/contacts/upsert', operationId: 'upsert-contact', locationId: 'L1' };

describe('FaultInjector', () => {
  it('fires `times` times, then is gone', () => {
    const f = new FaultInjector();
    f.add({ action: { kind: 'error', status: 500 }, times: 2 });
    expect(f.take(target)).toBeDefined();
    expect(f.take(target)?.hits).toBe(2);
    expect(f.take(target)).toBeUndefined();
    expect(f.list()).toEqual([]);
  });

  it('expires after durationMs', () => {
    const f = new FaultInjector();
    f.add({ action: { kind: 'rate-limit' }, durationMs: 100 }, 1_000);
    expect(f.take(target, 1_050)).toBeDefined();
    expect(f.take(target, 1_100)).toBeUndefined();
  });

  it.each([
    [{ method: 'get' }, false],
    [{ method: 'post' }, true],
    [{ path: '/contacts/*' }, true],
    [{ path: '/contacts' }, false],
    [{ path: '/contacts/upsert' }, true],
    [{ operationId: 'add-tags' }, false],
    [{ locationId: 'L2' }, false],
    [{ locationId: 'L1', operationId: 'upsert-contact' }, true],
  ])('match %j → %s', (match, hits) => {
    const f = new FaultInjector();
    f.add({ match, action: { kind: 'drop' } });
    expect(f.take(target) !== undefined).toBe(hits);
  });

  it('the first armed fault wins and each can be removed by id', () => {
    const f = new FaultInjector();
    const a = f.add({ action: { kind: 'error', status: 502 } });
    const b = f.add({ action: { kind: 'error', status: 503 } });
    expect(f.take(target)?.id).toBe(a.id);
    expect(f.remove(a.id)).toBe(true);
    expect(f.take(target)?.id).toBe(b.id);
    expect(f.remove('nope')).toBe(false);
  });
});
