import { COMMAND_ERROR_CODES } from '@app/contracts';
import { CommandError } from '@app/messaging';
import { commandErrorToApiError } from './command-error.mapping';

describe('commandErrorToApiError', () => {
  it('gives every contract code a status and a stable code', () => {
    const table = Object.fromEntries(
      COMMAND_ERROR_CODES.map((code) => {
        const e = commandErrorToApiError(new CommandError(code, 'x'), 'session.restart');
        return [code, `${e.status} ${e.code}`];
      }),
    );
    expect(table).toEqual({
      invalid_request: '400 invalid_request',
      unknown_location: '404 location_not_installed',
      not_owner: '409 session_moving',
      session_not_running: '409 session_not_running',
      not_connected: '409 not_connected',
      invalid_phone: '400 invalid_phone',
      capacity_exhausted: '503 capacity_exhausted',
      upstream_error: '502 upstream_error',
      timeout: '504 timeout',
      no_responder: '409 session_not_running',
      internal: '500 internal',
    });
  });

  it('reads no responder for a start as "no worker at all", and asks to retry later', () => {
    const e = commandErrorToApiError(new CommandError('no_responder', 'x'), 'session.start');
    expect([e.status, e.code, e.extra.retryAfterSeconds]).toEqual([503, 'service_unavailable', 10]);
  });

  it('never leaks an internal message', () => {
    const e = commandErrorToApiError(new CommandError('internal', 'TypeError at foo.ts:12'), 'session.send');
    expect(e.message).not.toContain('foo.ts');
  });
});
