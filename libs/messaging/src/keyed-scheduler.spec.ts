import { KeyedScheduler } from './keyed-scheduler';

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedScheduler', () => {
  it('never runs more than `concurrency` tasks at once', async () => {
    const scheduler = new KeyedScheduler(2);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    await scheduler.schedule(undefined, async () => {
      started.push(0);
      await gates[0].promise;
    });
    await scheduler.schedule(undefined, async () => {
      started.push(1);
      await gates[1].promise;
    });
    let thirdScheduled = false;
    const third = scheduler
      .schedule(undefined, async () => {
        started.push(2);
        await gates[2].promise;
      })
      .then(() => (thirdScheduled = true));
    await flush();
    expect(started).toEqual([0, 1]);
    expect(thirdScheduled).toBe(false);
    gates[1].open();
    await third;
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0].open();
    gates[2].open();
    await scheduler.idle();
    expect(scheduler.inFlight).toBe(0);
  });

  it('runs tasks of one key in order and tasks of other keys in parallel', async () => {
    const scheduler = new KeyedScheduler(10);
    const log: string[] = [];
    const a1 = gate();
    await scheduler.schedule('a', async () => {
      log.push('a1 start');
      await a1.promise;
      log.push('a1 end');
    });
    await scheduler.schedule('a', async () => {
      log.push('a2');
    });
    await scheduler.schedule('b', async () => {
      log.push('b1');
    });
    await flush();
    expect(log).toEqual(['a1 start', 'b1']);
    a1.open();
    await scheduler.idle();
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('keeps a key chain going after a task rejects', async () => {
    const scheduler = new KeyedScheduler(1);
    const ran: string[] = [];
    await scheduler.schedule('k', () => Promise.reject(new Error('boom')));
    await scheduler.schedule('k', async () => {
      ran.push('second');
    });
    await scheduler.idle();
    expect(ran).toEqual(['second']);
    await flush();
    expect(scheduler.activeKeys).toBe(0);
  });

  it('resolves idle() at once when nothing runs', async () => {
    await expect(new KeyedScheduler(1).idle()).resolves.toBeUndefined();
  });

  it('rejects a non-positive concurrency', () => {
    expect(() => new KeyedScheduler(0)).toThrow(/positive integer/);
  });
});
