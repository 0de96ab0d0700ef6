import { SESSION_STATES } from '@app/contracts';
import { explainSession, INSTALLATION_HEALTHS, type ExplainInput } from './session-explanation';

const base: ExplainInput = {
  installation: 'ok',
  installationReason: null,
  state: null,
  desiredState: null,
  ownerLive: true,
  phone: null,
  pushName: null,
  lastDisconnectCode: null,
  lastDisconnectReason: null,
  qrLive: false,
  secondsSinceUpdate: 1,
};

describe('explainSession', () => {
  it('says what to do next for every session state, in words and as an action', () => {
    const actions = Object.fromEntries(
      [null, ...SESSION_STATES].map((state) => [
        String(state),
        explainSession({ ...base, state, qrLive: state === 'qr' }).action,
      ]),
    );
    expect(actions).toEqual({
      null: 'connect',
      stopped: 'connect',
      starting: 'wait',
      qr: 'scan',
      connecting: 'wait',
      open: 'none',
      reconnecting: 'wait',
      logged_out: 'connect',
      forbidden: 'contact_support',
      qr_timeout: 'connect',
      failed: 'contact_support',
    });
    for (const state of SESSION_STATES) {
      const e = explainSession({ ...base, state });
      expect(e.headline.length).toBeGreaterThan(5);
      expect(e.nextStep.length).toBeGreaterThan(5);
    }
  });

  it('puts a broken GHL installation before anything WhatsApp says', () => {
    const actions = INSTALLATION_HEALTHS.map((installation) => [
      installation,
      explainSession({ ...base, installation, state: 'open', phone: '+15550000001' }).action,
    ]);
    expect(Object.fromEntries(actions)).toEqual({
      ok: 'none',
      awaiting_token: 'reauthorize',
      needs_reauth: 'reauthorize',
      uninstalled: 'reinstall',
      not_installed: 'reinstall',
    });
    expect(
      explainSession({
        ...base,
        installation: 'needs_reauth',
        installationReason: 'invalid_grant on refresh',
      }).detail,
    ).toContain('invalid_grant on refresh');
  });

  it('explains a disconnect with the plain meaning of its code and the stored reason', () => {
    const e = explainSession({
      ...base,
      state: 'reconnecting',
      desiredState: 'running',
      lastDisconnectCode: 440,
      lastDisconnectReason: 'stream errored (conflict)',
    });
    expect(e.detail).toContain('Another connection with the same number replaced this one');
    expect(e.detail).toContain('stream errored (conflict)');
    expect(explainSession({ ...base, state: 'logged_out', lastDisconnectCode: 401 }).detail).toContain(
      'logged out',
    );
  });

  it('names the linked number once connected, and tells an expired QR from a live one', () => {
    expect(explainSession({ ...base, state: 'open', phone: '+15550000001', pushName: 'Ada' }).headline).toBe(
      'Connected as +15550000001 (Ada).',
    );
    expect(explainSession({ ...base, state: 'qr', qrLive: false }).action).toBe('wait');
  });

  it('waits for an ownerless running session at first, then asks for support', () => {
    const ownerless = { ...base, state: 'qr' as const, desiredState: 'running' as const, ownerLive: false };
    expect(explainSession({ ...ownerless, secondsSinceUpdate: 10 }).action).toBe('wait');
    expect(explainSession({ ...ownerless, secondsSinceUpdate: 600 }).action).toBe('contact_support');
    expect(explainSession({ ...ownerless, state: 'logged_out' }).action).toBe('connect');
  });
});
