import { explainConnectionError, isTransientDatabaseError, START_POSTGRES_HINT } from './connection-error';

const URL = 'postgres://app:s3cret@db.internal:6543/wa_bridge';
const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('explainConnectionError', () => {
  it('names host:port and how to start Postgres when nothing listens', () => {
    expect(explainConnectionError(withCode('ECONNREFUSED'), URL)).toBe(
      `Cannot connect to PostgreSQL at db.internal:6543 (ECONNREFUSED). Is it running? Start it with: ${START_POSTGRES_HINT}`,
    );
  });

  it('reads the code of an AggregateError (localhost resolving to both ::1 and 127.0.0.1)', () => {
    const error = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'all failed');
    expect(explainConnectionError(error, URL)).toContain('(ECONNREFUSED)');
  });

  it('treats a connection timeout as unreachable', () => {
    expect(
      explainConnectionError(new Error('Connection terminated due to connection timeout'), URL),
    ).toContain('Cannot connect to PostgreSQL at db.internal:6543 (timeout)');
  });

  it('explains bad credentials and a missing database, never printing the password', () => {
    const auth = explainConnectionError(withCode('28P01'), URL);
    expect(auth).toBe(
      'PostgreSQL at db.internal:6543 refused user "app" (28P01); check the credentials in DATABASE_URL',
    );
    expect(explainConnectionError(withCode('3D000'), URL)).toBe(
      'Database "wa_bridge" does not exist on db.internal:6543; "migrate run" creates it',
    );
    expect(auth).not.toContain('s3cret');
  });

  it('leaves other errors alone', () => {
    expect(explainConnectionError(withCode('42P01', 'relation "x" does not exist'), URL)).toBeUndefined();
    expect(explainConnectionError('weird', URL)).toBeUndefined();
  });

  it('fills in libpq defaults for host and port', () => {
    expect(explainConnectionError(withCode('ECONNREFUSED'), 'postgres:///db')).toContain('localhost:5432');
    expect(explainConnectionError(withCode('ECONNREFUSED'), 'postgres://u@h/db')).toContain('h:5432');
  });
});

describe('isTransientDatabaseError', () => {
  it.each([
    ['refused', withCode('ECONNREFUSED')],
    ['reset', withCode('ECONNRESET')],
    ['admin shutdown (restart)', withCode('57P01', 'terminating connection due to administrator command')],
    ['starting up', withCode('57P03', 'the database system is starting up')],
    ['connection exception class', withCode('08006')],
    ['too many connections', withCode('53300')],
    ['pg: terminated', new Error('Connection terminated unexpectedly')],
    ['pool: connect timeout', new Error('timeout exceeded when trying to connect')],
    [
      'TypeORM wrapping a driver error',
      Object.assign(new Error('query failed'), { driverError: withCode('57P01') }),
    ],
  ])('is true for %s', (_, error) => {
    expect(isTransientDatabaseError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505', 'duplicate key')],
    ['a syntax error', withCode('42601')],
    ['a fencing refusal', Object.assign(new Error('lease lost'), { name: 'FencedWriteError' })],
    ['a non-error', 'ECONNREFUSED'],
    ['null', null],
  ])('is false for %s', (_, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
  });
});
