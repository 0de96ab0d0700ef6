import { ErrorCode, NatsError } from 'nats';
import { pino } from 'pino';
import { isNatsUnavailable, retryWhileUnavailable } from './retry-while-unavailable';

const logger = pino({ level: 'silent' });
const timeout = () => new NatsError('TIMEOUT', ErrorCode.Timeout);

describe('isNatsUnavailable', () => {
  it.each([ErrorCode.Timeout, ErrorCode.NoResponders, ErrorCode.ConnectionClosed, ErrorCode.Disconnect])(
    'counts %s as unavailable',
    (code) => expect(isNatsUnavailable(new NatsError(code, code))).toBe(true),
  );

  it('looks through wrapping errors', () => {
    expect(isNatsUnavailable(new Error('provisioning failed', { cause: timeout() }))).toBe(true);
  });

  it('does not count a refusal by the server or a plain error', () => {
    expect(isNatsUnavailable(new NatsError('stream name already in use', '400'))).toBe(false);
    expect(isNatsUnavailable(new Error('boom'))).toBe(false);
    expect(isNatsUnavailable('boom')).toBe(false);
  });
});

describe('retryWhileUnavailable', () => {
  it('retries while NATS does not answer, pausing as told, then returns the result', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const result = await retryWhileUnavailable(
      'test',
      async () => {
        calls += 1;
        if (calls < 4) throw timeout();
        return 'ok';
      },
      { logger, delaysMs: [10, 20], pause: async (ms) => void pauses.push(ms) },
    );
    expect(result).toBe('ok');
    expect(pauses).toEqual([10, 20, 20]);
  });

  it('fails at once on an error that waiting cannot fix', async () => {
    let calls = 0;
    const refused = new Error('consumer exists with a different deliver_policy');
    await expect(
      retryWhileUnavailable(
        'test',
        async () => {
          calls += 1;
          throw refused;
        },
        { logger, pause: async () => undefined },
      ),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives up when asked to stop', async () => {
    let stop = false;
    const attempt = retryWhileUnavailable(
      'test',
      async () => {
        throw timeout();
      },
      {
        logger,
        shouldStop: () => stop,
        pause: async () => {
          stop = true;
        },
      },
    );
    await expect(attempt).rejects.toMatchObject({ code: ErrorCode.Timeout });
  });
});
