import {
  COMMANDS,
  COMMAND_TYPES,
  GLOBAL_SCOPE,
  ContractViolation,
  EVENT_TYPES,
  commandReplySchema,
  commandSubject,
  createCommand,
  createEvent,
  eventFilter,
  eventSubject,
  parseCommand,
  parseCommandSubject,
  parseEvent,
  parseEventSubject,
} from '.';
import { COMMAND_SAMPLES, EVENT_SAMPLES } from '../test/samples';

const LOC = 've9EPM428h8vShlRW1KT';

describe('event contracts', () => {
  it.each(EVENT_TYPES)('%s accepts its valid sample and round-trips through JSON', (type) => {
    const envelope = createEvent(type, LOC, EVENT_SAMPLES[type] as never);
    expect(envelope.type).toBe(type);
    expect(envelope.locationId).toBe(LOC);
    expect(envelope.correlationId).toBe(envelope.id);
    expect(envelope.causationId).toBeNull();
    expect(parseEvent(JSON.parse(JSON.stringify(envelope)))).toEqual(envelope);
  });

  it.each(EVENT_TYPES)('%s rejects a payload with a missing field, naming the field', (type) => {
    const sample = EVENT_SAMPLES[type] as Record<string, unknown>;
    const [firstField] = Object.keys(sample);
    const broken = { ...sample };
    delete broken[firstField];
    expect(() => createEvent(type, LOC, broken as never)).toThrow(
      expect.objectContaining({
        name: 'ContractViolation',
        message: expect.stringContaining(`payload.${firstField}`),
      }),
    );
  });

  it.each(EVENT_TYPES)('%s rejects a payload field of the wrong type', (type) => {
    const sample = EVENT_SAMPLES[type] as Record<string, unknown>;
    const [firstField] = Object.keys(sample);
    const wrong = { ...sample, [firstField]: { not: 'right' } };
    expect(() => createEvent(type, LOC, wrong as never)).toThrow(ContractViolation);
  });

  it('inherits correlation and sets causation from the envelope that caused it', () => {
    const cause = createEvent('message.inbound', LOC, EVENT_SAMPLES['message.inbound']);
    const effect = createEvent('ghl.sync_result', LOC, EVENT_SAMPLES['ghl.sync_result'], { causedBy: cause });
    expect(effect.correlationId).toBe(cause.correlationId);
    expect(effect.causationId).toBe(cause.id);
  });

  it('rejects unknown event types and wrong versions', () => {
    const envelope = createEvent('session.qr', LOC, EVENT_SAMPLES['session.qr']);
    expect(() => parseEvent({ ...envelope, type: 'session.nope' })).toThrow(
      /unknown event type "session.nope"/,
    );
    expect(() => parseEvent({ ...envelope, version: 2 })).toThrow(/version/);
    expect(() => parseEvent('not an object')).toThrow(ContractViolation);
  });

  it('rejects a location id that would break the subject', () => {
    for (const bad of ['a.b', 'a*', '>', '', 'has space', '_global', 'x'.repeat(65)]) {
      expect(() => createEvent('session.qr', bad, EVENT_SAMPLES['session.qr'])).toThrow(/locationId/);
    }
  });

  it('rejects ids with control characters or unpaired surrogates, and takes any other text', () => {
    for (const id of ['a\r\nb', ' \n ', 'x\u0000', '\u007f']) {
      expect(() => createEvent('message.inbound', LOC, EVENT_SAMPLES['message.inbound'], { id })).toThrow(
        /id: must not contain control characters/,
      );
    }
    for (const id of ['\uD800', 'a\uDFFFb', '\uDFFF\uD800']) {
      expect(() => createEvent('message.inbound', LOC, EVENT_SAMPLES['message.inbound'], { id })).toThrow(
        /id: must be well-formed text/,
      );
    }
    const unicode = createEvent('message.inbound', LOC, {
      ...EVENT_SAMPLES['message.inbound'],
      waMessageId: 'Ω≈ç 👍 "x"',
    });
    expect(unicode.payload.waMessageId).toBe('Ω≈ç 👍 "x"');
  });

  it('rejects phone numbers that are not E.164', () => {
    for (const phone of ['15550000001', '+0123456789', '+1 555 000', '+1234567']) {
      expect(() => createEvent('session.ready', LOC, { ...EVENT_SAMPLES['session.ready'], phone })).toThrow(
        /payload.phone: phone must be E.164/,
      );
    }
  });
});

describe('command contracts', () => {
  it.each(COMMAND_TYPES)('%s accepts its valid sample', (type) => {
    const scope = COMMANDS[type].scope === 'global' ? GLOBAL_SCOPE : LOC;
    const command = createCommand(type, scope, COMMAND_SAMPLES[type] as never);
    expect(parseCommand(type, JSON.parse(JSON.stringify(command)))).toEqual(command);
  });

  it('session commands without payload refuse unexpected fields', () => {
    expect(() => createCommand('session.start', LOC, { force: true } as never)).toThrow(ContractViolation);
  });

  it('send rejects an invalid recipient and empty text with both fields named', () => {
    expect(() =>
      createCommand('session.send', LOC, {
        to: 'bob',
        clientMessageId: 'x',
        content: { kind: 'text', text: '' },
      }),
    ).toThrow(/payload\.to: .*; payload\.content\.text/);
  });

  it('reply schema accepts a typed result or a coded error, nothing else', () => {
    const schema = commandReplySchema('session.send');
    expect(
      schema.safeParse({ ok: true, result: { waMessageId: 'X', sentAt: '2026-11-21T10:00:00.000Z' } })
        .success,
    ).toBe(true);
    expect(
      schema.safeParse({ ok: false, error: { code: 'not_owner', message: 'elsewhere', retryable: true } })
        .success,
    ).toBe(true);
    expect(
      schema.safeParse({ ok: false, error: { code: 'made_up', message: 'x', retryable: false } }).success,
    ).toBe(false);
    expect(schema.safeParse({ ok: true, result: { waMessageId: 'X' } }).success).toBe(false);
  });
});

describe('subjects', () => {
  it('put the location in the second token and round-trip', () => {
    expect(eventSubject('message.inbound', LOC)).toBe(`evt.${LOC}.message.inbound`);
    expect(parseEventSubject(`evt.${LOC}.message.inbound`)).toEqual({
      locationId: LOC,
      type: 'message.inbound',
    });
    expect(parseEventSubject(`replay.${LOC}.session.qr`)).toEqual({ locationId: LOC, type: 'session.qr' });
    expect(commandSubject('session.send', LOC)).toBe(`cmd.${LOC}.session.send`);
    expect(parseCommandSubject(`cmd.${LOC}.session.send`)).toEqual({ locationId: LOC, type: 'session.send' });
  });

  it('route global commands to the reserved scope', () => {
    expect(commandSubject('oauth.exchange_code')).toBe('cmd._global.oauth.exchange_code');
  });

  it('build filters for one location or one event family', () => {
    expect(eventFilter(LOC)).toBe(`evt.${LOC}.>`);
    expect(eventFilter('*', 'message.>')).toBe('evt.*.message.>');
  });

  it('refuse wildcard or dotted location tokens', () => {
    expect(() => eventSubject('session.qr', '*')).toThrow(/invalid locationId/);
    expect(() => commandSubject('session.start', 'a.b')).toThrow(/invalid locationId/);
    expect(() => commandSubject('session.start')).toThrow(/needs a locationId/);
    expect(parseEventSubject('evt.loc.unknown.type')).toBeNull();
    expect(parseEventSubject('other.loc.session.qr')).toBeNull();
  });
});

describe('global commands', () => {
  it('carry the reserved scope instead of a location id', () => {
    expect(createCommand('oauth.exchange_code', '_global', { code: 'c' }).locationId).toBe('_global');
    expect(() => createCommand('oauth.exchange_code', LOC, { code: 'c' })).toThrow(/locationId/);
    expect(() => createCommand('session.start', '_global', {})).toThrow(/locationId/);
  });
});
