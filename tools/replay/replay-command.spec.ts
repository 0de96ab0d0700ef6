import { REPLAYABLE_EVENT_TYPES } from '@app/contracts';
import { parseReplayCommand, UsageError, type EventSelection } from './replay-command';
import { filterSubjectFor, isSelected } from './replay-sources';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const parse = (line: string) => parseReplayCommand(line.split(' ').filter(Boolean), NOW);
const usageError = (line: string) => {
  try {
    parse(line);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`"${line}" was accepted`);
};

describe('replay command line', () => {
  it('selects a location over the last 24 hours and every replayable type by default', () => {
    expect(parse('events --location locA')).toEqual({
      kind: 'events',
      selection: {
        locationId: 'locA',
        since: new Date('2026-03-09T12:00:00.000Z'),
        until: NOW,
        types: [...REPLAYABLE_EVENT_TYPES],
      },
      dryRun: false,
      rate: 0,
      waitMs: 60_000,
      quiet: false,
    });
  });

  it('reads times as ISO, as a duration ago, or now; a day as its UTC day', () => {
    const cmd = parse('events --location locA --since 90m --until 2026-03-10T11:59:00+01:00 --dry-run');
    expect(cmd).toMatchObject({
      dryRun: true,
      selection: { since: new Date('2026-03-10T10:30:00.000Z'), until: new Date('2026-03-10T10:59:00.000Z') },
    });
    expect(parse('events --location locA --day 2026-03-01')).toMatchObject({
      selection: { since: new Date('2026-03-01T00:00:00.000Z'), until: new Date('2026-03-01T23:59:59.999Z') },
    });
    expect(parse('events --location locA --since 2h --until now')).toMatchObject({
      selection: { since: new Date('2026-03-10T10:00:00.000Z'), until: NOW },
    });
  });

  it('takes replayable types only, naming the ones it refuses', () => {
    expect(
      parse('events --location locA --types message.inbound,message.status,message.inbound'),
    ).toMatchObject({
      selection: { types: ['message.inbound', 'message.status'] },
    });
    expect(usageError('events --location locA --types message.inbound,session.qr')).toMatch(
      /"session.qr" cannot be replayed; replayable types: message.inbound/,
    );
  });

  it('refuses what it cannot read, with the reason', () => {
    expect(usageError('events')).toMatch(/needs --location/);
    expect(usageError('events --location a.b')).toMatch(/--location: locationId must be/);
    expect(usageError('events --location locA --since yesterday')).toMatch(
      /--since must be an ISO 8601 time/,
    );
    expect(usageError('events --location locA --since 1h --until 2h')).toMatch(/the window is empty/);
    expect(usageError('events --location locA --day 2026-03-01 --since 1h')).toMatch(
      /--day sets the whole window/,
    );
    expect(usageError('events --location locA --day 1/3/2026')).toMatch(/--day must be a date/);
    expect(usageError('events --location locA --rate 0')).toMatch(/--rate must be a whole number/);
    expect(usageError('events --location locA --wait soon')).toMatch(/--wait must be a duration/);
    expect(usageError('events --location locA --yes')).toMatch(/events does not take --yes/);
    expect(usageError('events --location locA --bogus')).toMatch(/Unknown option '--bogus'/);
    expect(usageError('replay-everything')).toMatch(/unknown command/);
  });

  it('names one dead letter, a location, or all of them for redrive and purge', () => {
    expect(parse('dead-letter 42 --dry-run')).toEqual({
      kind: 'dead-letter',
      seq: 42,
      dryRun: true,
      waitMs: 60_000,
    });
    expect(parse('dead-letters redrive 7 --wait 0')).toEqual({
      kind: 'redrive',
      target: { kind: 'one', seq: 7 },
      dryRun: false,
      waitMs: 0,
    });
    expect(parse('dead-letters redrive --location locA')).toMatchObject({
      target: { kind: 'location', locationId: 'locA' },
    });
    expect(parse('dead-letters purge --all --yes')).toEqual({
      kind: 'purge',
      target: { kind: 'all' },
      yes: true,
    });
    expect(parse('dead-letters list --location locA --limit 5')).toEqual({
      kind: 'dead-letters-list',
      locationId: 'locA',
      limit: 5,
    });
    expect(usageError('dead-letters purge')).toMatch(/exactly one of/);
    expect(usageError('dead-letters purge 3 --all')).toMatch(/exactly one of/);
    expect(usageError('dead-letters redrive -1')).toMatch(/Unknown option '-1'/);
    expect(usageError('dead-letters redrive x')).toMatch(/DLQ sequence must be a whole number/);
    expect(usageError('dead-letter')).toMatch(/takes one DLQ sequence/);
    expect(usageError('dead-letters')).toMatch(/needs list, redrive or purge/);
  });

  it('shows the usage with --help or no command', () => {
    expect(parse('--help')).toEqual({ kind: 'help' });
    expect(parse('')).toEqual({ kind: 'help' });
  });
});

describe('replay selection', () => {
  const selection = (types: EventSelection['types']): EventSelection => ({
    locationId: 'locA',
    since: NOW,
    until: NOW,
    types,
  });

  it("reads one type's subject when only one type is selected, else the location's", () => {
    expect(filterSubjectFor(selection(['message.status']))).toBe('evt.locA.message.status');
    expect(filterSubjectFor(selection(['message.inbound', 'message.status']))).toBe('evt.locA.>');
  });

  it('keeps the selected types of the location only', () => {
    const s = selection(['message.inbound', 'ghl.outbound_requested']);
    expect(isSelected(s, 'evt.locA.message.inbound')).toBe(true);
    expect(isSelected(s, 'evt.locA.ghl.outbound_requested')).toBe(true);
    expect(isSelected(s, 'evt.locA.message.status')).toBe(false);
    expect(isSelected(s, 'evt.locA.ghl.sync_result')).toBe(false);
    expect(isSelected(s, 'evt.locB.message.inbound')).toBe(false);
    expect(isSelected(s, 'evt.locA.not.a.type')).toBe(false);
  });
});
