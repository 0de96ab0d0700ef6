import type { CommandType } from '@app/contracts';
import type { CommandError } from '@app/messaging';
import { ApiError } from '../http/api-error';

/**
 * A command's coded failure as an HTTP answer. Exhaustive: a new code in the contract does not compile
 * until it is mapped here. `no_responder` depends on the command: nobody serving `session.start` means no
 * worker runs at all, while nobody serving an owner command means the session is not running.
 */
export function commandErrorToApiError(error: CommandError, command: CommandType): ApiError {
  const retry = (status: number, code: string, message: string, seconds: number) =>
    new ApiError(status, code, message, { retryable: true, retryAfterSeconds: seconds });
  switch (error.code) {
    case 'invalid_request':
      return new ApiError(400, 'invalid_request', error.message, { retryable: false });
    case 'invalid_phone':
      return new ApiError(400, 'invalid_phone', error.message, { retryable: false });
    case 'unknown_location':
      return new ApiError(404, 'location_not_installed', 'the app is not installed for this location', {
        retryable: false,
      });
    case 'not_owner':
      return retry(409, 'session_moving', 'the session is moving to another server; try again shortly', 2);
    case 'session_not_running':
      return new ApiError(409, 'session_not_running', error.message, { retryable: false });
    case 'not_connected':
      return retry(409, 'not_connected', `WhatsApp is not connected: ${error.message}`, 5);
    case 'capacity_exhausted':
      return retry(503, 'capacity_exhausted', 'every server is full; try again later', 30);
    case 'upstream_error':
      return retry(502, 'upstream_error', error.message, 10);
    case 'timeout':
      return retry(504, 'timeout', `${command} got no answer in time; it may still take effect`, 5);
    case 'no_responder':
      return command === 'session.start' || command === 'oauth.exchange_code'
        ? retry(503, 'service_unavailable', `no server is taking ${command} right now`, 10)
        : new ApiError(409, 'session_not_running', 'no server runs this session; connect it first', {
            retryable: false,
          });
    case 'internal':
      return new ApiError(
        500,
        'internal',
        'the command failed on the server; contact support with the correlation id',
        {
          retryable: false,
        },
      );
  }
}
