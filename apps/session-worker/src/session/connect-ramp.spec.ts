import { ConnectRamp, type ConnectDone } from './connect-ramp';

describe('ConnectRamp', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  /** Schedules `count` starts; each records when it started and keeps its `done`. */
  function scheduleMany(ramp: ConnectRamp, count: number) {
    const started: { index: number; at: number; done: ConnectDone }[] = [];
    const cancels = Array.from({ length: count }, (_, index) =>
      ramp.schedule((done) => started.push({ index, at: Date.now(), done })),
    );
    return { started, cancels };
  }

  it('starts at most perSecond connects a second', () => {
    const ramp = new ConnectRamp({ perSecond: 4, maxInFlight: 100 });
    const { started } = scheduleMany(ramp, 6);
    jest.advanceTimersByTime(2_000);
    expect(started.map((s) => s.at)).toEqual([0, 250, 500, 750, 1_000, 1_250]);
    expect(started.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('never has more than maxInFlight connects running; the next starts when one is done', () => {
    const ramp = new ConnectRamp({ perSecond: 100, maxInFlight: 2 });
    const { started } = scheduleMany(ramp, 5);
    jest.advanceTimersByTime(5_000);
    expect(started).toHaveLength(2);
    expect(ramp.running).toBe(2);
    expect(ramp.pending).toBe(3);

    started[0].done();
    started[0].done(); // a second call gives nothing back twice
    jest.advanceTimersByTime(1_000);
    expect(started).toHaveLength(3);
    expect(ramp.running).toBe(2);

    started[1].done();
    started[2].done();
    jest.advanceTimersByTime(1_000);
    expect(started.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    expect(ramp.pending).toBe(0);
  });

  it('stops counting a connect that never says it is done after maxHoldMs', () => {
    const ramp = new ConnectRamp({ perSecond: 100, maxInFlight: 1, maxHoldMs: 30_000 });
    const { started } = scheduleMany(ramp, 2);
    jest.advanceTimersByTime(29_999);
    expect(started).toHaveLength(1);
    jest.advanceTimersByTime(100);
    expect(started).toHaveLength(2);
  });

  it('drops a cancelled start that still waits, and only that one', () => {
    const ramp = new ConnectRamp({ perSecond: 1, maxInFlight: 10 });
    const { started, cancels } = scheduleMany(ramp, 3);
    cancels[1]();
    jest.advanceTimersByTime(5_000);
    expect(started.map((s) => s.index)).toEqual([0, 2]);
    cancels[0](); // already started: nothing to cancel
    expect(ramp.running).toBe(2);
  });

  it('close() drops every waiting start and takes no new ones', () => {
    const ramp = new ConnectRamp({ perSecond: 1, maxInFlight: 10 });
    const { started } = scheduleMany(ramp, 3);
    jest.advanceTimersByTime(0);
    ramp.close();
    ramp.schedule(() => started.push({ index: 99, at: Date.now(), done: () => undefined }));
    jest.advanceTimersByTime(10_000);
    expect(started.map((s) => s.index)).toEqual([0]);
    expect(ramp.pending).toBe(0);
  });

  it('refuses settings that would never start anything', () => {
    expect(() => new ConnectRamp({ perSecond: 0, maxInFlight: 1 })).toThrow(RangeError);
    expect(() => new ConnectRamp({ perSecond: 1, maxInFlight: 0 })).toThrow(RangeError);
  });
});
