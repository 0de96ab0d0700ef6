import { Inject, Injectable } from '@nestjs/common';
import type { CommandPayload, CommandResult, CommandType, SessionState } from '@app/contracts';
import { CommandBus, CommandError, EventBus } from '@app/messaging';
import { currentCorrelationId } from '@app/observability';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { API_LOGGER } from '../api.tokens';
import { ApiError } from '../http/api-error';
import { commandErrorToApiError } from './command-error.mapping';
import { SessionControlRepository } from './session-control.repository';

export interface CommandOutcome {
  locationId: string;
  state: SessionState | 'not_started';
  desiredState: 'running' | 'stopped' | null;
  workerId: string | null;
  message: string;
}

// How long each command may take at its owner: a start only claims a lease; a logout and a restart
// talk to WhatsApp; a pairing code waits for WhatsApp to issue it.
const TIMEOUTS_MS: Record<CommandType, number> = {
  'session.start': 10_000,
  'session.stop': 15_000,
  'session.logout': 15_000,
  'session.restart': 15_000,
  'session.send': 15_000,
  'session.request_pairing_code': 20_000,
  'oauth.exchange_code': 30_000,
};

/**
 * Tenant and operator actions on a session, sent to its owner over NATS (never to a worker's HTTP
 * port). When nobody owns the session, a stop or logout is recorded in the database so it still takes
 * effect; every other failure becomes a coded HTTP answer.
 */
@Injectable()
export class SessionCommandsService {
  private readonly logger: Logger;

  constructor(
    private readonly commands: CommandBus,
    private readonly events: EventBus,
    private readonly control: SessionControlRepository,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'session-commands' });
  }

  /** Sends a command; every failure is thrown as an `ApiError`. */
  async request<T extends CommandType>(
    type: T,
    locationId: string,
    payload: CommandPayload<T>,
  ): Promise<CommandResult<T>> {
    try {
      return await this.commands.request(type, locationId, payload, {
        timeoutMs: TIMEOUTS_MS[type],
        meta: { correlationId: currentCorrelationId() },
      });
    } catch (err) {
      if (err instanceof CommandError) throw commandErrorToApiError(err, type);
      throw err;
    }
  }

  async connect(locationId: string): Promise<CommandOutcome> {
    const result = await this.request('session.start', locationId, {});
    return {
      locationId,
      state: result.state,
      desiredState: 'running',
      workerId: result.workerId,
      message:
        result.state === 'open'
          ? 'WhatsApp is already connected.'
          : 'Starting: a QR code appears within a few seconds if the number still has to be linked.',
    };
  }

  async restart(locationId: string): Promise<CommandOutcome> {
    const result = await this.request('session.restart', locationId, {});
    return {
      locationId,
      state: result.state,
      desiredState: 'running',
      workerId: result.workerId,
      message: 'Reconnecting to WhatsApp.',
    };
  }

  async stop(locationId: string): Promise<CommandOutcome> {
    try {
      const result = await this.commands.request(
        'session.stop',
        locationId,
        {},
        this.options('session.stop'),
      );
      return {
        locationId,
        state: result.state,
        desiredState: 'stopped',
        workerId: result.workerId,
        message: 'Stopped.',
      };
    } catch (err) {
      if (!(err instanceof CommandError) || err.code !== 'no_responder')
        throw this.asApiError(err, 'session.stop');
    }
    const state = await this.control.requestStopped(locationId);
    return {
      locationId,
      state: state ?? 'not_started',
      desiredState: state ? 'stopped' : null,
      workerId: null,
      message: 'No server was running the session; it stays stopped.',
    };
  }

  async logout(locationId: string): Promise<CommandOutcome> {
    try {
      const result = await this.commands.request(
        'session.logout',
        locationId,
        {},
        this.options('session.logout'),
      );
      return {
        locationId,
        state: result.state,
        desiredState: 'stopped',
        workerId: result.workerId,
        message: 'Logged out: this device was unlinked from the phone.',
      };
    } catch (err) {
      if (!(err instanceof CommandError) || err.code !== 'no_responder')
        throw this.asApiError(err, 'session.logout');
    }
    const reason = 'logged out by request while no server ran the session';
    const outcome = await this.control.logoutUnowned(locationId, reason);
    switch (outcome.outcome) {
      case 'owner_alive':
        throw new ApiError(
          409,
          'session_moving',
          'the session is moving to another server; try again shortly',
          {
            retryable: true,
            retryAfterSeconds: 5,
          },
        );
      case 'nothing_linked':
        return {
          locationId,
          state: outcome.state ?? 'not_started',
          desiredState: outcome.state ? 'stopped' : null,
          workerId: null,
          message: 'No WhatsApp number was linked; nothing to log out.',
        };
      case 'logged_out':
        await this.announceLoggedOut(locationId, outcome.previous, reason);
        return {
          locationId,
          state: 'logged_out',
          desiredState: 'stopped',
          workerId: null,
          message:
            'The stored WhatsApp link was deleted. The phone may still list this device under Linked devices; remove it there.',
        };
    }
  }

  async pairingCode(locationId: string, phone: string) {
    const result = await this.request('session.request_pairing_code', locationId, { phone });
    return {
      ...result,
      phone,
      howTo:
        'On the phone open WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead, and type this code.',
    };
  }

  async send(locationId: string, to: string, text: string, clientMessageId: string | undefined) {
    const id = clientMessageId ?? `api-${randomUUID()}`;
    const result = await this.request('session.send', locationId, {
      to,
      clientMessageId: id,
      content: { kind: 'text', text },
    });
    return { ...result, clientMessageId: id };
  }

  private options(type: CommandType) {
    return { timeoutMs: TIMEOUTS_MS[type], meta: { correlationId: currentCorrelationId() } };
  }

  private asApiError(err: unknown, type: CommandType): unknown {
    return err instanceof CommandError ? commandErrorToApiError(err, type) : err;
  }

  /** The api changed the projection itself, so it tells the dashboards the way a worker would. */
  private async announceLoggedOut(locationId: string, previous: SessionState, reason: string): Promise<void> {
    try {
      await this.events.publish(
        'session.state_changed',
        locationId,
        { state: 'logged_out', previous, code: null, reason, workerId: null },
        { correlationId: currentCorrelationId() },
      );
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not announce the logout; the projection already says it');
    }
  }
}
