import fc from 'fast-check';
import {
  COMMAND_ERROR_CODES,
  commandReplySchema,
  EVENTS,
  parseCommand,
  type CommandType,
  type EventEnvelope,
  type EventType,
} from '@app/contracts';
import { decodeEventMessage, DLQ_HEADERS, STREAMS } from '@app/messaging';
import { eventually } from '@app/testing';
import { ErrorCode, NatsError, headers as natsHeaders } from 'nats';
import { randomUUID } from 'node:crypto';
import { COMMAND_SAMPLES, EVENT_SAMPLES } from '../../libs/contracts/test/samples';
import { SseReader } from '../../apps/api/test/sse-reader';
import { checkProperty, propertyTimeoutMs, Reached } from './fuzz-parameters';
import { FuzzSystem, type StoredDeadLetter } from './fuzz-system';
import { HOSTILE_STRINGS, hostileJson, hostileString, malformedJson, mutated } from './hostile-input';

/** Linked and open: its worker serves the per-location commands. */
const TARGET = 'fuzzBusTarget0000001';
/** Installed with a stored link, stopped: nothing sent on the bus may change it. */
const VICTIM = 'fuzzBusVictim0000001';
const TARGET_PHONE = '15550001111';

const COMMAND_TIMEOUT_MS = 10_000;
/** Session commands that change a running session: only ever sent as invalid envelopes. */
const DESTRUCTIVE: CommandType[] = ['session.start', 'session.stop', 'session.logout', 'session.restart'];

/** The sync's consumers and what they take, live and replayed. */
const CONSUMED = [
  { root: 'evt', type: 'message.inbound', consumer: 'sync-messages' },
  { root: 'evt', type: 'message.outbound', consumer: 'sync-messages' },
  { root: 'evt', type: 'message.status', consumer: 'sync-messages' },
  { root: 'evt', type: 'message.unheard_of', consumer: 'sync-messages' },
  { root: 'evt', type: 'ghl.outbound_requested', consumer: 'sync-ghl-outbound' },
  { root: 'replay', type: 'message.inbound', consumer: 'sync-replay-messages' },
  { root: 'replay', type: 'ghl.outbound_requested', consumer: 'sync-replay-ghl-outbound' },
] as const;

function envelope(type: string, locationId: string, payload: unknown): Record<string, unknown> {
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    locationId,
    correlationId: randomUUID(),
    causationId: null,
    payload,
  };
}

/**
 * A NATS subject token: anything without whitespace, `.`, `*` or `>` (the server refuses those), in
 * well-formed UTF-8 (subjects travel as UTF-8; an unpaired surrogate would arrive as U+FFFD).
 */
const subjectToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(TARGET, VICTIM, 'unknownLocation00001', '_global', 'A'.repeat(65), '-x', '%00', '$1'),
  hostileString
    .map((s) => s.replace(/[\s.*>]/g, ''))
    .filter((s) => s.length > 0 && s.length < 200 && Buffer.from(s, 'utf8').toString('utf8') === s),
);

/**
 * Every NATS subject the apps consume, fuzzed against the built apps as processes: commands to the
 * session worker (`cmd.<loc>.session.*`) and to sync (`cmd._global.oauth.exchange_code`), events to
 * sync's durable consumers (`evt.<loc>.message.*`, `evt.<loc>.ghl.outbound_requested`, and `replay.…`),
 * and live events to the api's dashboard streams. A bad command gets a typed `invalid_request` reply,
 * never a hang; a bad event is dead-lettered with its reason and nothing reaches GHL or the database;
 * the consumers go on with the next good message; no process dies.
 */
describe('bad input on the bus: every consumed subject, fuzzed', () => {
  let system: FuzzSystem;
  const letters = new Map<string, StoredDeadLetter>();
  let lettersSeen = 0;

  beforeAll(async () => {
    system = await FuzzSystem.start({ databasePrefix: 'fuzz_bus_test', worker: true });
    for (const id of [TARGET, VICTIM]) await system.install(id);
    await system.cluster!.link(TARGET, TARGET_PHONE);
    await system.storeStoppedLink(VICTIM);
  }, 120_000);

  afterEach(async () => {
    await system?.assertHealthy();
  });

  /** Replies seen, by command and outcome. */
  const replies = new Reached();

  afterAll(async () => {
    replies.print();
    await system?.stop();
  }, 60_000);

  async function request(subject: string, data: Uint8Array) {
    try {
      const reply = await system.connection.nc.request(subject, data, { timeout: COMMAND_TIMEOUT_MS });
      return JSON.parse(reply.string()) as unknown;
    } catch (err) {
      if (err instanceof NatsError && err.code === ErrorCode.NoResponders) return 'no_responders';
      throw err;
    }
  }

  /** Reads the dead letters stored since the last call into `letters`, by original stream and sequence. */
  async function collectDeadLetters(): Promise<void> {
    for (const letter of await system.deadLetters(lettersSeen)) {
      lettersSeen = letter.seq;
      letters.set(`${letter.headers[DLQ_HEADERS.stream]}:${letter.headers[DLQ_HEADERS.streamSeq]}`, letter);
    }
  }

  /** The dead letter of one stored message, once the consumer has settled it. */
  async function deadLetterOf(stream: string, seq: number, timeoutMs = 15_000): Promise<StoredDeadLetter> {
    return eventually(
      async () => {
        await collectDeadLetters();
        const found = letters.get(`${stream}:${seq}`);
        if (!found) throw new Error(`no dead letter for ${stream} #${seq} yet`);
        return found;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }

  async function sessionState(locationId: string): Promise<string | undefined> {
    return (await system.cluster!.sessionRow(locationId))?.state;
  }

  it(
    'answers every bad command with a typed invalid_request reply, and never acts on it',
    async () => {
      const victimBefore = await system.locationFingerprint(VICTIM);
      const sessionCommand = fc.constantFrom<CommandType>(
        'session.start',
        'session.stop',
        'session.logout',
        'session.restart',
        'session.send',
        'session.request_pairing_code',
      );
      const command = fc.oneof<fc.Arbitrary<{ type: CommandType; subject: string; location: string }>[]>(
        sessionCommand.map((type) => ({ type, subject: `cmd.${TARGET}.${type}`, location: TARGET })),
        subjectToken.map((token) => ({
          type: 'session.start',
          subject: `cmd.${token}.session.start`,
          location: token,
        })),
        fc.constant({
          type: 'oauth.exchange_code',
          subject: 'cmd._global.oauth.exchange_code',
          location: '_global',
        }),
      );
      const request$ = command
        .chain((c) =>
          fc.record({
            command: fc.constant(c),
            bytes: fc.oneof(
              malformedJson.map((text) => Buffer.from(text)),
              hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
              // The envelope taken apart, its payload taken apart, or someone else's location on it.
              fc
                .constant(0)
                .chain(() => mutated(envelope(c.type, c.location, COMMAND_SAMPLES[c.type])))
                .map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
              fc
                .constant(0)
                .chain(() => mutated(COMMAND_SAMPLES[c.type] as Record<string, unknown>))
                .map((payload) => Buffer.from(JSON.stringify(envelope(c.type, c.location, payload)))),
              fc
                .constantFrom(VICTIM, 'otherLocation0000001', '_global')
                .map((other) =>
                  Buffer.from(JSON.stringify(envelope(c.type, other, COMMAND_SAMPLES[c.type]))),
                ),
              fc
                .integer({ min: 100_000, max: 900_000 })
                .map((size) =>
                  Buffer.from(
                    JSON.stringify(
                      envelope(c.type, c.location, { ...COMMAND_SAMPLES[c.type], pad: 'x'.repeat(size) }),
                    ),
                  ),
                ),
              fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
            ),
          }),
        )
        // A valid stop/logout/restart/start would really act; those are the commands' own tests.
        .filter(
          ({ command: c, bytes }) =>
            !(DESTRUCTIVE.includes(c.type) && isValidCommand(c.type, c.subject, bytes)),
        );

      await checkProperty(
        'commands',
        120,
        fc.asyncProperty(request$, async ({ command: c, bytes }) => {
          const reply = await request(c.subject, bytes);
          const outcome =
            typeof reply === 'string'
              ? reply
              : (reply as { ok?: boolean }).ok
                ? 'ok'
                : (reply as { error?: { code?: string } }).error?.code;
          replies.add(`${c.type} → ${String(outcome)}`);
          if (reply === 'no_responders') {
            // Nobody serves that subject (a location with no running session): nothing to check.
            expect(c.type).not.toBe('oauth.exchange_code');
            return;
          }
          const parsed = commandReplySchema(c.type).safeParse(reply);
          expect({ subject: c.subject, reply, valid: parsed.success }).toEqual({
            subject: c.subject,
            reply,
            valid: true,
          });
          if (!isValidCommand(c.type, c.subject, bytes)) {
            expect({ subject: c.subject, reply }).toEqual({
              subject: c.subject,
              reply: {
                ok: false,
                error: expect.objectContaining({ code: 'invalid_request', retryable: false }),
              },
            });
          } else if (!(reply as { ok: boolean }).ok) {
            expect(COMMAND_ERROR_CODES).toContain((reply as { error: { code: string } }).error.code);
          }
        }),
      );

      // Requests without a reply address are dropped without harm.
      for (const type of DESTRUCTIVE) system.connection.nc.publish(`cmd.${TARGET}.${type}`, Buffer.from('{'));
      await system.connection.nc.flush();

      expect(await sessionState(TARGET)).toBe('open');
      expect(await system.locationFingerprint(VICTIM)).toBe(victimBefore);
      // The worker still serves its location.
      const reply = await request(
        `cmd.${TARGET}.session.request_pairing_code`,
        Buffer.from(JSON.stringify(envelope('session.request_pairing_code', TARGET, { phone: 'nope' }))),
      );
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    },
    propertyTimeoutMs(120, 90_000),
  );

  it(
    'dead-letters every bad event with its reason, writes nothing to GHL or the database, and goes on',
    async () => {
      const ghlBefore = (await system.ghlAdmin.requests()).length;
      const syncBefore = await system.fingerprint('sync');
      const target = fc.record({
        consumed: fc.constantFrom(...CONSUMED),
        location: fc.oneof(
          { weight: 3, arbitrary: fc.constant(TARGET) },
          { weight: 1, arbitrary: subjectToken },
        ),
      });
      const event$ = target
        .chain(({ consumed, location }) => {
          const known = consumed.type in EVENTS ? (consumed.type as EventType) : 'message.inbound';
          const valid = () => envelope(known, location, EVENT_SAMPLES[known]);
          return fc.record({
            subject: fc.constant(`${consumed.root}.${location}.${consumed.type}`),
            consumer: fc.constant(consumed.consumer),
            bytes: fc.oneof(
              malformedJson.map((text) => Buffer.from(text)),
              hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
              fc
                .constant(0)
                .chain(() => mutated(valid()))
                .map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
              fc
                .constant(0)
                .chain(() => mutated(EVENT_SAMPLES[known] as Record<string, unknown>))
                .map((payload) => Buffer.from(JSON.stringify(envelope(known, location, payload)))),
              // Another location's event, or another type's, on this subject.
              fc
                .constantFrom(VICTIM, 'otherLocation0000001')
                .map((other) => Buffer.from(JSON.stringify(envelope(known, other, EVENT_SAMPLES[known])))),
              fc
                .constantFrom<EventType>('message.status', 'session.qr', 'ghl.sync_result')
                .filter((type) => type !== known)
                .map((type) => Buffer.from(JSON.stringify(envelope(type, location, EVENT_SAMPLES[type])))),
              // Broken UTF-8, and a body as large as the server takes.
              fc.constant(Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])),
              fc
                .oneof(fc.integer({ min: 100_000, max: MAX_BODY }), fc.constant(MAX_BODY))
                .map((size) => paddedTo(valid(), size)),
            ),
          });
        })
        // Events that are still valid belong to the next test.
        .filter(({ subject, bytes }) => !decodeEventMessage(subject, bytes).ok);

      await checkProperty(
        'events',
        80,
        fc.asyncProperty(event$, async ({ subject, consumer, bytes }) => {
          const stream = subject.startsWith('replay.') ? STREAMS.replay : STREAMS.events;
          const hdrs = natsHeaders();
          hdrs.set('X-Fuzz-Probe', 'bad-event');
          const ack = await system.connection.js.publish(subject, bytes, {
            msgID: randomUUID(),
            headers: hdrs,
          });
          const letter = await deadLetterOf(stream, ack.seq);
          // A message that only just fitted is kept cut, with its length said (the original stays in its stream).
          const truncatedFrom = letter.headers[DLQ_HEADERS.truncatedFrom];
          if (truncatedFrom !== undefined) {
            expect({ truncatedFrom, size: letter.size < bytes.length }).toEqual({
              truncatedFrom: String(bytes.length),
              size: true,
            });
          }
          expect({
            subject,
            headers: letter.headers,
            size: truncatedFrom ? bytes.length : letter.size,
          }).toEqual({
            subject,
            headers: expect.objectContaining({
              [DLQ_HEADERS.originalSubject]: subject,
              [DLQ_HEADERS.errorKind]: 'invalid',
              [DLQ_HEADERS.consumer]: consumer,
              [DLQ_HEADERS.deliveryCount]: '1',
              [DLQ_HEADERS.reason]: expect.stringMatching(/\S/),
              'X-Fuzz-Probe': 'bad-event',
            }),
            size: bytes.length,
          });
        }),
      );

      expect((await system.ghlAdmin.requests()).length).toBe(ghlBefore);
      expect(await system.fingerprint('sync')).toBe(syncBefore);
      // The consumers go on: a good message right after is written to GHL.
      await expectStillFlowing(system, 'still flowing after the bad ones');
    },
    propertyTimeoutMs(80, 90_000),
  );

  it(
    'settles every valid event with hostile content (handled or dead-lettered with a reason), never twice',
    async () => {
      const text = fc
        .oneof(hostileString, fc.constantFrom('x'.repeat(65_536), '\u0000'.repeat(10)))
        .filter((s) => s.length > 0);
      const id = fc.oneof(hostileString, fc.uuid()).filter((s) => s.length > 0 && s.length <= 200);
      // A WhatsApp message id is unique: two events generated with the same one would be two messages
      // that GHL rightly shows twice, so each gets a run-wide serial (the hostile part stays in front).
      let serial = 0;
      const waMessageId = id.map((s) => `${s.slice(0, 190)}~${(serial += 1)}`);
      const digits = fc.integer({ min: 10_000_000, max: 99_999_999 }).map((n) => `1555${n}`);
      const phone = fc.oneof(
        fc.constant(null),
        digits.map((d) => `+${d}`),
      );
      // Mostly a one-to-one chat with a phone (what sync writes to GHL), sometimes anything.
      const chat = digits.chain((d) =>
        fc.record({
          chatJid: fc.oneof(
            { weight: 3, arbitrary: fc.constant(`${d}@s.whatsapp.net`) },
            { weight: 1, arbitrary: id },
          ),
          party: fc.record({
            phone: fc.oneof({ weight: 3, arbitrary: fc.constant(`+${d}`) }, { weight: 1, arbitrary: phone }),
            jid: fc.oneof(fc.constant(`${d}@s.whatsapp.net`), id),
            lid: fc.oneof(fc.constant(null), id),
            pushName: fc.oneof(
              fc.constant(null),
              hostileString.map((s) => s.slice(0, 200)),
            ),
          }),
        }),
      );
      const content = fc.oneof(
        text.map((t) => ({ kind: 'text', text: t })),
        fc.record({
          kind: fc.constant('media'),
          mediaType: fc.constantFrom('image', 'video', 'audio', 'document', 'sticker'),
          mimetype: id,
          caption: fc.oneof(
            fc.constant(null),
            hostileString.map((s) => s.slice(0, 4096)),
          ),
          fileName: fc.oneof(
            fc.constant(null),
            hostileString.map((s) => s.slice(0, 500)),
          ),
          sizeBytes: fc.oneof(fc.constant(null), fc.nat()),
          url: fc.oneof(
            fc.constant(null),
            fc.constantFrom(
              'https://example.com/%ZZ.pdf',
              'https://example.com/a%E0%A4%A.png',
              'http://127.0.0.1:9/x',
            ),
          ),
        }),
      );
      const at = fc.constantFrom(
        '2026-11-21T10:00:00.000Z',
        '1970-01-01T00:00:00Z',
        '9999-12-31T23:59:59.999Z',
        '2026-11-21T10:00:00+14:00',
      );
      const event = fc.oneof(
        fc.record({
          type: fc.constant('message.inbound'),
          payload: fc
            .record({ waMessageId, chat, sentAt: at, content })
            .map(({ chat: c, ...rest }) => ({ ...rest, chatJid: c.chatJid, from: c.party })),
        }),
        fc.record({
          type: fc.constant('message.outbound'),
          payload: fc
            .record({
              waMessageId,
              chat,
              sentAt: at,
              content,
              origin: fc.constantFrom('phone', 'bridge'),
              clientMessageId: fc.oneof(fc.constant(null), id),
            })
            .map(({ chat: c, ...rest }) => ({ ...rest, chatJid: c.chatJid, to: c.party })),
        }),
        fc.record({
          type: fc.constant('message.status'),
          payload: fc
            .record({
              waMessageId,
              chat,
              status: fc.constantFrom('sent', 'delivered', 'read', 'played', 'failed'),
              error: fc.oneof(
                fc.constant(null),
                hostileString.map((s) => s.slice(0, 500)),
              ),
              at,
            })
            .map(({ chat: c, ...rest }) => ({ ...rest, chatJid: c.chatJid })),
        }),
        fc.record({
          type: fc.constant('ghl.outbound_requested'),
          payload: fc.record({
            ghlMessageId: id,
            contactId: id,
            conversationId: fc.oneof(fc.constant(null), id),
            phone,
            message: fc.oneof(fc.constant(null), text),
            attachments: fc.array(
              fc.constantFrom(
                'https://example.com/%ZZ.pdf',
                'https://example.com/a.png',
                'https://example.com/%E0%A4%A',
              ),
              { maxLength: 3 },
            ),
            userId: fc.oneof(fc.constant(null), id),
            providerType: fc.constantFrom('SMS', 'WhatsApp', HOSTILE_STRINGS[2]),
          }),
        }),
      );
      const batch = fc.array(event, { minLength: 6, maxLength: 12 });

      await checkProperty(
        'valid hostile events',
        2,
        fc.asyncProperty(batch, async (events) => {
          const published: EventEnvelope[] = [];
          for (const e of events) {
            const candidate = envelope(e.type, TARGET, e.payload);
            const subject = `evt.${TARGET}.${e.type}`;
            const bytes = Buffer.from(JSON.stringify(candidate));
            // Only contract-valid events here (the generators aim at that; a few miss and are skipped).
            const decoded = decodeEventMessage(subject, bytes);
            if (!decoded.ok) continue;
            const ack = await system.connection.js.publish(subject, bytes, { msgID: candidate.id as string });
            published.push(decoded.envelope);
            expect(ack.duplicate).toBe(false);
          }
          // None is stuck: sync's consumers settle every one (handled, skipped, or dead-lettered after its
          // retries), and every dead letter says why. The bound covers SYNC_MAX_DELIVER=3 sends to the
          // worker at sync's 15 s send timeout each, on a loaded machine.
          await eventually(
            async () => {
              const jsm = await system.connection.jsm();
              for (const durable of ['sync-messages', 'sync-ghl-outbound']) {
                const info = await jsm.consumers.info(STREAMS.events, durable);
                expect({ durable, pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({
                  durable,
                  pending: 0,
                  unacked: 0,
                });
              }
            },
            { timeoutMs: 90_000, intervalMs: 200 },
          );
          await collectDeadLetters();
          const ids = new Set(published.map((e) => e.id));
          const ours = [...letters.values()].filter((l) => ids.has(l.headers[DLQ_HEADERS.eventId] ?? ''));
          expect(ours.filter((l) => !/\S/.test(l.headers[DLQ_HEADERS.reason] ?? ''))).toEqual([]);
          // A programming error is no reason to retry: content that crashes a handler is a bug.
          expect(
            ours
              .map((l) => l.headers[DLQ_HEADERS.reason] ?? '')
              .filter((reason) =>
                /\b(TypeError|URIError|RangeError|SyntaxError|ReferenceError)\b/.test(reason),
              ),
          ).toEqual([]);
          if (process.env.FUZZ_VERBOSE) {
            console.log(
              ours
                .map((l) => `${l.headers[DLQ_HEADERS.errorKind]}: ${l.headers[DLQ_HEADERS.reason]}`)
                .join('\n'),
            );
          }
        }),
        { shrink: false },
      );

      const counts = await system.ghlAdmin.counts(TARGET);
      expect(counts.duplicateAltIds).toEqual([]);
      await expectStillFlowing(system, 'still flowing after the hostile ones');
    },
    propertyTimeoutMs(2, 240_000),
  );

  it(
    "keeps a dashboard stream alive through bad events and never shows another location's",
    async () => {
      const stream = await SseReader.open(
        `${system.apiUrl}/api/locations/${TARGET}/events/stream`,
        system.secrets.ADMIN_API_KEY,
      );
      try {
        await stream.next('snapshot', 15_000);
        const sessionTypes: EventType[] = [
          'session.qr',
          'session.pairing_code',
          'session.state_changed',
          'session.disconnected',
        ];
        const event$ = fc.constantFrom(...sessionTypes).chain((type) =>
          fc.record({
            subject: fc.constant(`evt.${TARGET}.${type}`),
            bytes: fc.oneof(
              malformedJson.map((t) => Buffer.from(t)),
              fc
                .constant(0)
                .chain(() => mutated(envelope(type, TARGET, EVENT_SAMPLES[type])))
                .map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
              // Another location's event on this location's subject, marked so a leak is visible.
              fc.constant(0).map(() => Buffer.from(JSON.stringify(envelope(type, VICTIM, leakMarked(type))))),
              fc.constant(0).map(() =>
                Buffer.from(
                  JSON.stringify(
                    envelope('session.qr', TARGET, {
                      ...EVENT_SAMPLES['session.qr'],
                      qr: 'Q'.repeat(2000),
                    }),
                  ),
                ),
              ),
            ),
          }),
        );
        await checkProperty(
          'dashboard events',
          40,
          fc.asyncProperty(event$, async ({ subject, bytes }) => {
            await system.connection.js.publish(subject, bytes, { msgID: randomUUID() });
          }),
        );
        // A marker published last arrives: the stream survived everything before it.
        const marker = envelope('session.pairing_code', TARGET, {
          ...EVENT_SAMPLES['session.pairing_code'],
          code: 'MARKER01',
        });
        await system.connection.js.publish(
          `evt.${TARGET}.session.pairing_code`,
          Buffer.from(JSON.stringify(marker)),
          {
            msgID: marker.id as string,
          },
        );
        await eventually(() => expect(stream.frames.some((f) => f.data.code === 'MARKER01')).toBe(true), {
          timeoutMs: 10_000,
        });
        expect(
          stream.frames.filter((f) => /LEAK|leak-marker/.test(JSON.stringify(f.data))).map((f) => f.event),
        ).toEqual([]);
      } finally {
        stream.close();
      }
    },
    propertyTimeoutMs(40, 60_000),
  );

  it('logged no secret', () => {
    expect(system.leakedSecretsInLogs()).toEqual([]);
  });
});

/**
 * The largest body a publish with our two headers can carry: the server's max_payload (1 MiB by
 * default) counts headers and body together.
 */
const MAX_BODY = 1024 * 1024 - 200;

/** The value as JSON, padded with an extra field to exactly `size` bytes. */
function paddedTo(value: Record<string, unknown>, size: number): Buffer {
  const base = Buffer.byteLength(JSON.stringify({ ...value, pad: '' }));
  return Buffer.from(JSON.stringify({ ...value, pad: 'x'.repeat(Math.max(0, size - base)) }));
}

/** A session event of another location whose content would show if it reached this location's page. */
function leakMarked(type: EventType): unknown {
  const sample = EVENT_SAMPLES[type] as Record<string, unknown>;
  if (type === 'session.pairing_code') return { ...sample, code: 'LEAK0001' };
  if (type === 'session.qr') return { ...sample, qr: 'leak-marker-qr' };
  return { ...sample, reason: 'leak-marker' };
}

function isValidCommand(type: CommandType, subject: string, bytes: Buffer): boolean {
  try {
    const parsed = parseCommand(type, JSON.parse(bytes.toString('utf8')));
    return parsed.locationId === subject.split('.')[1];
  } catch {
    return false;
  }
}

/** A good inbound message for the target, published now, is written to GHL. */
async function expectStillFlowing(system: FuzzSystem, text: string): Promise<void> {
  const good = await publishInbound(system, TARGET, text);
  await eventually(() => expect(syncResult(system, good.id)).toMatchObject({ outcome: 'applied' }), {
    timeoutMs: 20_000,
  });
}

async function publishInbound(system: FuzzSystem, locationId: string, text: string) {
  const e = envelope('message.inbound', locationId, {
    ...EVENT_SAMPLES['message.inbound'],
    waMessageId: `fuzz-good-${randomUUID()}`,
    content: { kind: 'text', text },
  });
  await system.connection.js.publish(`evt.${locationId}.message.inbound`, Buffer.from(JSON.stringify(e)), {
    msgID: e.id as string,
  });
  return e as unknown as EventEnvelope;
}

function syncResult(system: FuzzSystem, sourceEventId: string) {
  const found = system.cluster!.events.find(
    (e) => e.type === 'ghl.sync_result' && e.payload.sourceEventId === sourceEventId,
  );
  return found?.type === 'ghl.sync_result' ? found.payload : undefined;
}
