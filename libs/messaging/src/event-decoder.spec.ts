import { eventSubject, replaySubject } from '@app/contracts';
import { bytes, LOCATION, statusEvent } from '../test/fixtures';
import { decodeEventMessage } from './event-decoder';

describe('decodeEventMessage', () => {
  const event = statusEvent();
  const subject = eventSubject('message.status', LOCATION);

  it('returns the validated envelope of a well-formed event on its own subject', () => {
    expect(decodeEventMessage(subject, bytes(event))).toEqual({ ok: true, envelope: event });
  });

  it('accepts the same event re-fed on its replay subject', () => {
    expect(decodeEventMessage(replaySubject('message.status', LOCATION), bytes(event))).toMatchObject({
      ok: true,
    });
  });

  it('rejects bytes that are not JSON', () => {
    expect(decodeEventMessage(subject, bytes('{nope'))).toMatchObject({ ok: false, reason: /^invalid JSON/ });
  });

  it('rejects broken UTF-8 instead of decoding it into replacement characters', () => {
    expect(decodeEventMessage(subject, Uint8Array.from([0x7b, 0xff, 0x7d]))).toMatchObject({
      ok: false,
      reason: /^invalid JSON/,
    });
  });

  it('rejects an unknown event type', () => {
    expect(decodeEventMessage(subject, bytes({ ...event, type: 'message.exploded' }))).toMatchObject({
      ok: false,
      reason: /unknown event type "message.exploded"/,
    });
  });

  it('names the bad field of a payload that breaks the contract', () => {
    const bad = { ...event, payload: { ...event.payload, status: 'teleported' } };
    expect(decodeEventMessage(subject, bytes(bad))).toMatchObject({ ok: false, reason: /payload\.status/ });
  });

  it('rejects an envelope published on another location subject', () => {
    expect(decodeEventMessage(eventSubject('message.status', 'otherLoc'), bytes(event))).toMatchObject({
      ok: false,
      reason: /does not match the envelope \(expected evt\.loc123\.message\.status\)/,
    });
  });

  it('rejects an envelope published on another event type subject', () => {
    expect(decodeEventMessage(eventSubject('message.inbound', LOCATION), bytes(event))).toMatchObject({
      ok: false,
    });
  });

  it('does not check subjects outside the event roots', () => {
    expect(decodeEventMessage('custom.subject', bytes(event))).toMatchObject({ ok: true });
  });
});
