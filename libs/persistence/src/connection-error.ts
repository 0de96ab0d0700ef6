import { describeDatabaseUrl } from './database-url';

/** What to run on a developer machine or CI box where the Debian cluster is installed but stopped. */
export const START_POSTGRES_HINT = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // Node reports "localhost resolves to ::1 and 127.0.0.1, both refused" as an AggregateError.
  if (Array.isArray(errors)) return errors.map(codeOf).find((c) => c !== undefined);
  return undefined;
}

/**
 * One line explaining why a connection to `url` failed, for the errors an operator can fix (server
 * down, wrong host, bad credentials, missing database); `undefined` for anything else.
 */
export function explainConnectionError(error: unknown, url: string): string | undefined {
  const { host, port, database, user } = describeDatabaseUrl(url);
  const where = `${host}:${port}`;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);

  if ((code && UNREACHABLE.has(code)) || /connection timeout|timeout expired/i.test(message)) {
    return `Cannot connect to PostgreSQL at ${where} (${code ?? 'timeout'}). Is it running? Start it with: ${START_POSTGRES_HINT}`;
  }
  // invalid_password, invalid_authorization_specification (e.g. no pg_hba.conf entry)
  if (code === '28P01' || code === '28000') {
    return `PostgreSQL at ${where} refused user "${user}" (${code}); check the credentials in DATABASE_URL`;
  }
  if (code === '3D000') {
    return `Database "${database}" does not exist on ${where}; "migrate run" creates it`;
  }
  return undefined;
}

// SQLSTATE classes and codes that say "the server or the connection is unavailable for now", not
// "this statement is wrong": a connection exception (08…), the server shutting down or starting up
// (57P01–57P03), too many connections (53300).
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const TRANSIENT_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|terminating connection/i;

/**
 * True when `error` means PostgreSQL could not be reached or dropped the connection (a restart, a
 * network blip, a full server): the same statement may succeed later. False for anything the
 * statement itself caused (a constraint, a syntax error, a fencing refusal).
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = codeOf(error);
  if (code && (UNREACHABLE.has(code) || code === 'EPIPE' || TRANSIENT_SQLSTATES.has(code))) return true;
  if (code && code.startsWith('08')) return true;
  const message = error instanceof Error ? error.message : '';
  if (TRANSIENT_MESSAGES.test(message)) return true;
  // TypeORM wraps driver errors in QueryFailedError and keeps the driver's error as `driverError`.
  const inner =
    (error as { driverError?: unknown; cause?: unknown }).driverError ?? (error as { cause?: unknown }).cause;
  return inner !== undefined && inner !== error && isTransientDatabaseError(inner);
}
