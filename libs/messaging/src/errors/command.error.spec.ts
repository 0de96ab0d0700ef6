import { COMMAND_ERROR_CODES, commandErrorSchema } from '@app/contracts';
import { CommandError, isRetryableByDefault } from './command.error';

describe('CommandError', () => {
  it('round-trips through its wire body', () => {
    const error = new CommandError('not_owner', 'owned by worker-2', { retryable: false });
    const copy = CommandError.fromBody(error.toBody());
    expect(copy).toBeInstanceOf(CommandError);
    expect(copy.toBody()).toEqual({ code: 'not_owner', message: 'owned by worker-2', retryable: false });
  });

  it('cuts a message longer than the contract allows, so the reply stays valid', () => {
    // Found by the bad-input suite (test/fuzz): an unknown key of 5,000 characters was quoted whole in
    // the invalid_request message, and the reply broke the contract (the caller saw `internal`).
    const body = new CommandError('invalid_request', `Unrecognized key: "${'x'.repeat(5_000)}"`).toBody();
    expect(commandErrorSchema.safeParse(body).success).toBe(true);
    expect(body.message.startsWith('Unrecognized key: "xxx')).toBe(true);
    expect(body.message.endsWith('…')).toBe(true);
  });

  it('defaults retryable by code: waiting can fix a timeout, not a bad request', () => {
    expect(new CommandError('timeout', 't').retryable).toBe(true);
    expect(new CommandError('no_responder', 'n').retryable).toBe(true);
    expect(new CommandError('invalid_request', 'i').retryable).toBe(false);
    expect(new CommandError('internal', 'i').retryable).toBe(false);
    for (const code of COMMAND_ERROR_CODES) expect(typeof isRetryableByDefault(code)).toBe('boolean');
  });
});
