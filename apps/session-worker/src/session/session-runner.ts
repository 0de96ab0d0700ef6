import { createHash } from 'node:crypto';
import type { EventPayload, EventType, MessageContent, SessionState } from '@app/contracts';
import { CommandError } from '@app/messaging';
import type { Logger } from 'pino';
import { sessionMetrics } from '../metrics/session.metrics';
import {
  ConnectionClosedError,
  type AuthRecordStore,
  type WhatsAppClient,
  type WhatsAppConnection,
  type WhatsAppEvent,
} from '../whatsapp/whatsapp.port';
import type { ConnectDone } from './connect-ramp';
import { DisconnectPolicyOptions, backoffDelay, decideDisconnect } from './disconnect-policy';
import type { SessionProjectionPatch } from './session-projection.repository';

/**
 * Publishes one location's events; the runner never sees subjects or envelopes. `untilPublished`:
 * keep trying while the bus is down (the event reports a message no one would deliver again).
 */
export type SessionEventSink = <T extends EventType>(
  type: T,
  payload: EventPayload<T>,
  options?: { id?: string; untilPublished?: boolean },
) => Promise<void>;

/** The lease this runner holds, as far as the runner needs it. */
export interface HeldLease {
  readonly epoch: number;
  /** Whether the lease keeper still trusts the lease (no database round trip). */
  isValid(): boolean;
  /** Re-checks against the database that the lease is still ours. */
  isHeld(): Promise<boolean>;
  /** Gives the lease up so another worker can take the session at once. */
  release(): Promise<void>;
}

/** Takes turns for connects (`ConnectRamp`): `start` runs when the turn comes; the result cancels a wait. */
export interface ConnectTurns {
  schedule(start: (done: ConnectDone) => void): () => void;
}

export interface SessionRunnerDeps {
  locationId: string;
  workerId: string;
  lease: HeldLease;
  /** Every connect attempt (first, reconnect, restart) waits for a turn here. */
  connectTurns: ConnectTurns;
  whatsapp: WhatsAppClient;
  auth: AuthRecordStore & { clear(): Promise<void> };
  publish: SessionEventSink;
  /** Fenced write of the api-visible projection; false when refused. */
  project: (patch: SessionProjectionPatch) => Promise<boolean>;
  policy: DisconnectPolicyOptions;
  /** Bounded QR refs per connect: an unlinked session stops with `qr_timeout` after this many. */
  qrMaxRefs: number;
  qrTimeoutMs?: number;
  logger: Logger;
  /** Told once, when the runner has stopped for good (socket closed, lease released or lost). */
  onStopped: (reason: string) => void;
  now?: () => number;
}

// Baileys' QR lifetimes when no qrTimeout is configured: the first lives 60 s, later ones 20 s.
const FIRST_QR_LIFETIME_MS = 60_000;
const NEXT_QR_LIFETIME_MS = 20_000;
// A 440 counts as "recent" for the repeat alert within this window.
const CONFLICT_WINDOW_MS = 10 * 60_000;
// Ids of messages sent through the bridge, remembered to tell them apart from ones typed on the phone.
const SENT_IDS_KEPT = 2_000;

const TERMINAL_STATES: ReadonlySet<SessionState> = new Set([
  'logged_out',
  'forbidden',
  'qr_timeout',
  'failed',
  'stopped',
]);

/** WhatsApp message id derived from the send's idempotency key: a retried send reuses the id. */
export function waMessageIdFor(locationId: string, clientMessageId: string): string {
  return `3EB0${createHash('sha256').update(`${locationId}:${clientMessageId}`).digest('hex').slice(0, 18).toUpperCase()}`;
}

/**
 * One owned WhatsApp session: connects, follows the disconnect policy, publishes every transition and
 * message, and keeps the projection current. Events from the socket are handled strictly in order.
 */
export class SessionRunner {
  private connection?: WhatsAppConnection;
  private state: SessionState = 'starting';
  private failedAttempts = 0;
  private conflictTimes: number[] = [];
  private qrCount = 0;
  private connectStartedAt = 0;
  private stopped = false;
  /** The lease is gone and the socket closed; nothing may be written any more. */
  private abandoned = false;
  private reconnectTimer?: NodeJS.Timeout;
  /** Ends this runner's turn of the connect ramp, while a connect is in progress. */
  private connectDone?: ConnectDone;
  /** Cancels a connect still waiting for its turn. */
  private cancelTurn?: () => void;
  private queue: Promise<void> = Promise.resolve();
  /** Events about delivered messages, in WhatsApp's order, on a chain of their own (see `deliver`). */
  private deliveries: Promise<void> = Promise.resolve();
  private readonly sentByBridge = new Set<string>();
  private readonly knownContacts = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: SessionRunnerDeps) {
    this.log = deps.logger.child({ locationId: deps.locationId, epoch: deps.lease.epoch });
    this.now = deps.now ?? Date.now;
  }

  get currentState(): SessionState {
    return this.state;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Connects when the ramp gives this session a turn; resolves once that connect ran (or was cancelled). */
  start(): Promise<void> {
    return this.requestConnect();
  }

  // ---------------------------------------------------------------- commands (run by the owner)

  async send(to: string, clientMessageId: string, content: MessageContent) {
    if (this.state !== 'open' || !this.connection) {
      throw new CommandError('not_connected', `the WhatsApp session is ${this.state}, not open`, {
        retryable: true,
      });
    }
    if (content.kind !== 'text') {
      throw new CommandError('invalid_request', 'only text messages can be sent for now');
    }
    const waMessageId = waMessageIdFor(this.deps.locationId, clientMessageId);
    this.rememberSent(waMessageId);
    let sent: Awaited<ReturnType<WhatsAppConnection['sendText']>>;
    try {
      sent = await this.connection.sendText(to, content.text, waMessageId);
    } catch (error) {
      // The socket closed under the send (a hand-off, a lease loss, WhatsApp dropping it): the sender
      // may try again, with the same id, once the session is open somewhere.
      if (error instanceof ConnectionClosedError) {
        throw new CommandError('not_connected', error.message, { retryable: true });
      }
      throw error;
    }
    // In order with the session's other message events; a failure is the caller's to retry (same id).
    await this.deliver(
      'message.outbound',
      {
        waMessageId: sent.waMessageId,
        chatJid: `${to.slice(1)}@s.whatsapp.net`,
        to: { phone: to, jid: `${to.slice(1)}@s.whatsapp.net`, lid: null, pushName: null },
        sentAt: sent.sentAt.toISOString(),
        content,
        origin: 'bridge',
        clientMessageId,
      },
      `msg-out:${this.deps.locationId}:${sent.waMessageId}`,
      false,
    );
    return { waMessageId: sent.waMessageId, sentAt: sent.sentAt.toISOString() };
  }

  async requestPairingCode(phone: string) {
    if (this.state !== 'qr' || !this.connection) {
      throw new CommandError(
        'session_not_running',
        `a pairing code needs an unlinked session waiting for a QR scan; it is ${this.state}`,
      );
    }
    const code = (await this.connection.requestPairingCode(phone)).toUpperCase();
    const expiresAt = new Date(this.now() + NEXT_QR_LIFETIME_MS * 3).toISOString();
    await this.deps.publish('session.pairing_code', { phone, code, expiresAt, workerId: this.deps.workerId });
    return { code, expiresAt };
  }

  async restart(): Promise<void> {
    await this.enqueue(async () => {
      if (this.stopped) return;
      this.failedAttempts = 0;
      await this.dropConnection();
    });
    await this.requestConnect();
  }

  /** Closes the socket and releases the lease; `desired` says whether the session should stay stopped. */
  stop(reason: string, desired: 'stopped' | 'keep'): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped) return;
      await this.dropConnection();
      if (desired === 'stopped') {
        await this.transition('stopped', reason, null, {
          desiredState: 'stopped',
          qr: null,
          qrExpiresAt: null,
        });
      }
      await this.finish(reason, true);
    });
  }

  logout(): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped) return;
      const connection = this.connection;
      this.connection = undefined;
      try {
        await connection?.logout();
      } catch (error) {
        this.log.warn({ err: error }, 'logout on WhatsApp failed; clearing local credentials anyway');
      }
      await this.deps.auth.clear();
      await this.transition('logged_out', 'logged out by request', null, {
        desiredState: 'stopped',
        qr: null,
        qrExpiresAt: null,
      });
      await this.deps.publish('session.logged_out', {
        code: 401,
        reason: 'logged out by request',
        workerId: this.deps.workerId,
      });
      await this.finish('logged out', true);
    });
  }

  /** The lease is gone (renewal failed or another owner): close the socket without touching state. */
  abandon(reason: string): Promise<void> {
    this.abandoned = true;
    this.clearReconnect();
    this.endConnectTurn();
    const connection = this.connection;
    this.connection = undefined;
    const closed = connection?.close().catch(() => undefined);
    return this.enqueue(async () => {
      await closed;
      await this.finish(reason, false);
    });
  }

  // ---------------------------------------------------------------- internals

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch((error: unknown) => this.log.error({ err: error }, 'session task failed'));
    return run;
  }

  /**
   * Waits for a turn of the connect ramp — outside the task queue, so commands are not held up behind a
   * long wait — then connects. One wait at a time; a newer request replaces an older one.
   */
  private requestConnect(): Promise<void> {
    if (this.stopped || this.abandoned) return Promise.resolve();
    this.cancelTurn?.();
    return new Promise((resolve) => {
      let turnCame = false;
      const cancelWait = (): void => {
        if (this.cancelTurn === cancelWait) this.cancelTurn = undefined;
        cancel();
        resolve();
      };
      const cancel = this.deps.connectTurns.schedule((done) => {
        turnCame = true;
        if (this.cancelTurn === cancelWait) this.cancelTurn = undefined;
        this.endConnectTurn();
        if (this.stopped || this.abandoned) {
          done();
          resolve();
          return;
        }
        this.connectDone = done;
        // Failures are logged by the queue; the caller only learns that the attempt ran.
        void this.enqueue(() => this.connect()).then(resolve, () => resolve());
      });
      if (!turnCame) this.cancelTurn = cancelWait;
    });
  }

  /** The connect in progress has settled (QR shown, open, closed, given up): the next one may start. */
  private endConnectTurn(): void {
    const done = this.connectDone;
    this.connectDone = undefined;
    done?.();
  }

  private scheduleConnect(delayMs: number): void {
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => void this.requestConnect(), delayMs);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return this.endConnectTurn();
    this.clearReconnect();
    try {
      // Right before a socket opens, the lease must still be ours: never two sockets for one number.
      if (!(await this.deps.lease.isHeld())) {
        this.endConnectTurn();
        await this.finish('lease lost before connecting', false);
        return;
      }
      this.qrCount = 0;
      this.connectStartedAt = this.now();
      await this.transition(
        this.failedAttempts > 0 ? 'reconnecting' : 'connecting',
        'connecting to WhatsApp',
        null,
      );
    } catch (error) {
      // The database did not answer (an exhausted pool, a restart): nothing is open and nothing else
      // would ever try again, so the session would sit in `connecting` for good. Retry with backoff;
      // if the database stays away, the lease keeper gives the session up.
      this.endConnectTurn();
      this.failedAttempts += 1;
      const delayMs = backoffDelay(this.failedAttempts, this.deps.policy);
      this.log.warn({ err: error, delayMs }, 'could not prepare the connect; retrying');
      this.scheduleConnect(delayMs);
      return;
    }
    if (this.stopped) return this.endConnectTurn();
    const mayOpen = () => !this.stopped && !this.abandoned && this.deps.lease.isValid();
    try {
      const connection = await this.deps.whatsapp.connect({
        locationId: this.deps.locationId,
        auth: this.deps.auth,
        logger: this.log,
        qrTimeoutMs: this.deps.qrTimeoutMs,
        onEvent: (event) => void this.enqueue(() => this.handle(event)),
        mayOpen,
      });
      this.connection = connection;
      // The lease may have been lost while the socket was being set up (`abandon` found nothing to
      // close then): close it now, before it can log in next to the new owner's.
      if (!mayOpen()) {
        await this.dropConnection();
        await this.finish('lease lost while connecting', false);
      }
    } catch (error) {
      if ((error as { name?: string }).name === 'ConnectAbortedError') {
        this.endConnectTurn();
        await this.finish('lease lost before connecting', false);
        return;
      }
      if ((error as { name?: string }).name === 'AuthStateUnreadableError') {
        // Starting over would make new credentials: a new QR and an unlinked phone. Stop and say why.
        this.log.error({ err: error }, 'stored WhatsApp credentials cannot be decrypted');
        await this.stopTerminal(
          'failed',
          500,
          'stored credentials cannot be decrypted (was ENCRYPTION_KEY changed?); contact support',
          false,
        );
        return;
      }
      this.log.warn({ err: error }, 'could not start the WhatsApp socket');
      await this.onClose(500, error instanceof Error ? error.message : String(error));
    }
  }

  private async handle(event: WhatsAppEvent): Promise<void> {
    // A message WhatsApp delivered reaches the bus even after the session stopped here (it may have
    // been acknowledged just before the socket closed, and WhatsApp will not deliver it again).
    if (this.stopped && event.type !== 'message' && event.type !== 'receipt' && event.type !== 'contact')
      return;
    switch (event.type) {
      case 'qr':
        return this.onQr(event.qr);
      case 'open':
        return this.onOpen(event.me);
      case 'close':
        this.connection = undefined;
        return this.onClose(event.code, event.message);
      case 'fenced':
        this.log.warn({ detail: event.detail }, 'auth write fenced: another worker owns this session now');
        sessionMetrics.leaseRenewFailures.inc();
        await this.dropConnection();
        return this.finish('fenced by a newer lease', false);
      case 'message':
        return this.onMessage(event);
      case 'receipt':
        void this.deliver(
          'message.status',
          {
            waMessageId: event.waMessageId,
            chatJid: event.chatJid,
            status: event.status,
            error: event.status === 'failed' ? 'WhatsApp reported the message as failed' : null,
            at: event.at.toISOString(),
          },
          `msg-status:${this.deps.locationId}:${event.waMessageId}:${event.status}`,
        );
        return;
      case 'contact':
        if (this.knownContacts.has(event.party.jid)) return;
        this.knownContacts.add(event.party.jid);
        void this.deliver('contact.upserted', { ...event.party, source: 'message' });
        return;
      default: {
        const unhandled: never = event;
        this.log.warn({ event: unhandled }, 'unknown WhatsApp event');
      }
    }
  }

  private async onQr(qr: string): Promise<void> {
    // Waiting for someone to scan costs nothing: another session may connect meanwhile.
    this.endConnectTurn();
    this.qrCount += 1;
    if (this.qrCount > this.deps.qrMaxRefs) {
      await this.dropConnection();
      await this.stopTerminal(
        'qr_timeout',
        408,
        'nobody scanned the QR code in time; start again to get a new one',
        true,
      );
      return;
    }
    if (this.qrCount === 1) sessionMetrics.timeToFirstQr.observe((this.now() - this.connectStartedAt) / 1000);
    sessionMetrics.qrEmitted.inc();
    const lifetime =
      this.deps.qrTimeoutMs ?? (this.qrCount === 1 ? FIRST_QR_LIFETIME_MS : NEXT_QR_LIFETIME_MS);
    const expiresAt = new Date(this.now() + lifetime);
    await this.transition('qr', 'waiting for the QR code to be scanned', null, {
      qr,
      qrExpiresAt: expiresAt,
    });
    await this.deps.publish('session.qr', {
      qr,
      attempt: this.qrCount,
      expiresAt: expiresAt.toISOString(),
      workerId: this.deps.workerId,
    });
  }

  private async onOpen(me: { phone: string; jid: string; lid: string | null; pushName: string | null }) {
    this.endConnectTurn();
    this.failedAttempts = 0;
    sessionMetrics.timeToOpen.observe((this.now() - this.connectStartedAt) / 1000);
    await this.transition('open', 'connected to WhatsApp', null, {
      phone: me.phone,
      jid: me.jid,
      pushName: me.pushName,
      qr: null,
      qrExpiresAt: null,
    });
    await this.deps.publish('session.ready', { ...me, workerId: this.deps.workerId });
  }

  private async onClose(code: number, message: string): Promise<void> {
    this.endConnectTurn();
    const leaseHeld = await this.deps.lease.isHeld().catch(() => false);
    const now = this.now();
    this.conflictTimes = this.conflictTimes.filter((t) => now - t < CONFLICT_WINDOW_MS);
    const decision = decideDisconnect(
      {
        code,
        message,
        paired: await this.hasCreds(),
        failedAttempts: this.failedAttempts,
        leaseHeld,
        recentConflicts: this.conflictTimes.length,
      },
      this.deps.policy,
    );
    sessionMetrics.disconnects.inc({ code: String(code), action: decision.action });
    this.log.info({ code, message, decision }, 'WhatsApp connection closed');
    if (code === 440 && leaseHeld) {
      this.conflictTimes.push(now);
      sessionMetrics.conflicts.inc();
    }

    switch (decision.action) {
      case 'yield':
        await this.finish(decision.reason, false);
        return;
      case 'reconnect': {
        if (code !== 515) this.failedAttempts += 1;
        if (decision.alert)
          this.log.error(
            { code, conflicts: this.conflictTimes.length },
            'repeated 440 conflicts while holding the lease',
          );
        sessionMetrics.reconnects.inc({ code: String(code) });
        // Planned before the event and the projection write: if either fails, the session still
        // reconnects instead of waiting forever. (The connect queues behind this task.)
        this.scheduleConnect(decision.delayMs);
        await this.deps.publish('session.disconnected', {
          code,
          reason: decision.reason,
          willReconnect: true,
          reconnectInMs: decision.delayMs,
          workerId: this.deps.workerId,
        });
        await this.transition(decision.state, decision.reason, code);
        return;
      }
      case 'stop':
        await this.deps.publish('session.disconnected', {
          code,
          reason: decision.reason,
          willReconnect: false,
          reconnectInMs: null,
          workerId: this.deps.workerId,
        });
        await this.stopTerminal(decision.state, code, decision.reason, decision.clearAuth);
        return;
      default: {
        const unhandled: never = decision;
        throw new Error(`unhandled decision ${JSON.stringify(unhandled)}`);
      }
    }
  }

  private async stopTerminal(state: SessionState, code: number, reason: string, clearAuth: boolean) {
    try {
      if (clearAuth) await this.retryWhileHeld('clear the credentials', () => this.deps.auth.clear());
      await this.transition(state, reason, code, { desiredState: 'stopped', qr: null, qrExpiresAt: null });
      if (state === 'logged_out') {
        await this.deps.publish('session.logged_out', { code, reason, workerId: this.deps.workerId });
      }
    } finally {
      // Even when the database stayed away: the socket is closed and the lease goes back.
      await this.finish(reason, true);
    }
  }

  /**
   * Runs a database step, retrying with backoff what fails (an exhausted pool, a restart) while this
   * session still holds a trusted lease — a transient error must not leave a session half-way, e.g.
   * open on WhatsApp but `connecting` for the api, or stopped without recording why. Gives up (throws
   * the last error) once the lease is lost, the session stops, or after the policy's attempts.
   */
  private async retryWhileHeld<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        const giveUp =
          this.stopped ||
          this.abandoned ||
          !this.deps.lease.isValid() ||
          attempt >= this.deps.policy.maxFailedAttempts;
        if (giveUp) throw error;
        const delayMs = backoffDelay(attempt - 1, this.deps.policy);
        this.log.warn({ err: error, attempt, delayMs }, `could not ${what}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Whether linked credentials exist; an unreadable store counts as linked, so nothing gets cleared. */
  private async hasCreds(): Promise<boolean> {
    let creds: Buffer | null;
    try {
      creds = await this.deps.auth.readCreds();
    } catch {
      return true;
    }
    if (!creds) return false;
    try {
      return !!(JSON.parse(creds.toString('utf8')) as { me?: { id?: string } }).me?.id;
    } catch {
      return false;
    }
  }

  private onMessage(event: Extract<WhatsAppEvent, { type: 'message' }>): void {
    const base = {
      waMessageId: event.waMessageId,
      chatJid: event.chatJid,
      sentAt: event.sentAt.toISOString(),
      content: event.content,
    };
    if (!event.fromMe) {
      void this.deliver(
        'message.inbound',
        { ...base, from: event.party },
        `msg-in:${this.deps.locationId}:${event.waMessageId}`,
      );
      return;
    }
    // Our own sends are published by `send`; what remains was typed on the phone.
    if (this.sentByBridge.has(event.waMessageId)) return;
    void this.deliver(
      'message.outbound',
      { ...base, to: event.party, origin: 'phone', clientMessageId: null },
      `msg-out:${this.deps.locationId}:${event.waMessageId}`,
    );
  }

  /**
   * Publishes an event about a message WhatsApp delivered. Baileys has acknowledged it already, so
   * the event is the only copy left: the sink keeps trying while the bus is down. The events keep
   * their order on a chain of their own, so an outage holds up neither the session's reconnects nor
   * its stop. (Callers that do not wait need not catch: the chain logs a failure.)
   */
  private deliver<T extends EventType>(
    type: T,
    payload: EventPayload<T>,
    id?: string,
    untilPublished = true,
  ): Promise<void> {
    const published = this.deliveries.then(() =>
      this.deps.publish(type, payload, { ...(id ? { id } : {}), untilPublished }),
    );
    this.deliveries = published.catch((error: unknown) => {
      if (untilPublished) this.log.error({ err: error, type, id }, 'message event not published');
    });
    return published;
  }

  /** Resolves once every message event so far is on the bus (or was given up). */
  get delivered(): Promise<void> {
    return this.deliveries;
  }

  private rememberSent(waMessageId: string): void {
    this.sentByBridge.add(waMessageId);
    if (this.sentByBridge.size > SENT_IDS_KEPT) {
      const oldest = this.sentByBridge.values().next().value;
      if (oldest !== undefined) this.sentByBridge.delete(oldest);
    }
  }

  private async transition(
    state: SessionState,
    reason: string,
    code: number | null,
    extra: SessionProjectionPatch = {},
  ): Promise<void> {
    const previous = this.state;
    this.state = state;
    const patch: SessionProjectionPatch = { state, ...extra };
    if (code !== null) {
      patch.lastDisconnectCode = code;
      patch.lastDisconnectReason = reason;
    }
    const accepted = await this.retryWhileHeld('record the session state', () => this.deps.project(patch));
    if (!accepted) {
      // The projection refused our epoch: another worker owns the session. Stop touching it.
      this.log.warn({ state }, 'projection write fenced; abandoning the session');
      await this.dropConnection();
      await this.finish('fenced by a newer lease', false);
      return;
    }
    if (previous !== state) {
      await this.deps.publish('session.state_changed', {
        state,
        previous,
        code,
        reason,
        workerId: this.deps.workerId,
      });
    }
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private async dropConnection(): Promise<void> {
    this.clearReconnect();
    this.cancelTurn?.();
    this.endConnectTurn();
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch((error: unknown) => this.log.warn({ err: error }, 'socket close failed'));
  }

  private async finish(reason: string, releaseLease: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Whatever path got here, no socket outlives the session (a connect may have finished meanwhile).
    await this.dropConnection();
    if (releaseLease) {
      await this.deps.lease
        .release()
        .catch((error: unknown) => this.log.warn({ err: error }, 'lease release failed'));
    }
    this.log.info({ reason, releaseLease, state: this.state }, 'session stopped on this worker');
    this.deps.onStopped(reason);
  }

  isTerminal(): boolean {
    return TERMINAL_STATES.has(this.state);
  }
}
