import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiError } from '../http/api-error';
import { parseInput } from '../http/zod-input';
import { LocationReadRepository } from './location-read.repository';
import { toLocationStatus } from './location-status';
import {
  locationListQuerySchema,
  locationParamsSchema,
  pairingCodeBodySchema,
  recentEventsQuerySchema,
  sendMessageBodySchema,
} from './locations.schemas';
import { RecentEventsService } from './recent-events.service';
import { SessionCommandsService } from './session-commands.service';

const DEBUG_EVENTS = 30;

/**
 * Tenant and operator endpoints of one location's WhatsApp link. Reads come from stored state (the
 * projection, leases, installations, tokens); actions go to the session's owner over NATS. The access
 * guard has already checked the caller may act on `:locationId`.
 */
@Controller('api/locations')
export class LocationsController {
  constructor(
    private readonly reads: LocationReadRepository,
    private readonly commands: SessionCommandsService,
    private readonly events: RecentEventsService,
  ) {}

  /** Installed locations and their sessions; a location credential sees only its own. */
  @Get()
  async list(@Query() query: unknown, @CurrentPrincipal() principal: Principal) {
    const q = parseInput(locationListQuerySchema, query, 'query');
    const rows = await this.reads.list({
      limit: q.limit,
      after: q.after ?? null,
      only: principal.kind === 'admin' ? null : principal.locationId,
      includeUninstalled: q.includeUninstalled,
    });
    return {
      locations: rows.map(toLocationStatus),
      next: rows.length === q.limit ? rows[rows.length - 1].locationId : null,
    };
  }

  @Get(':locationId/whatsapp/status')
  async status(@Param() params: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const snapshot = await this.reads.snapshot(locationId);
    if (!snapshot.installation && !snapshot.session) {
      throw ApiError.notFound('location_not_installed', 'the app is not installed for this location');
    }
    return toLocationStatus(snapshot);
  }

  @Post(':locationId/whatsapp/connect')
  @HttpCode(202)
  async connect(@Param() params: unknown) {
    return this.commands.connect(parseInput(locationParamsSchema, params, 'path').locationId);
  }

  @Post(':locationId/whatsapp/restart')
  @HttpCode(202)
  async restart(@Param() params: unknown) {
    return this.commands.restart(parseInput(locationParamsSchema, params, 'path').locationId);
  }

  @Post(':locationId/whatsapp/stop')
  @HttpCode(200)
  async stop(@Param() params: unknown) {
    return this.commands.stop(parseInput(locationParamsSchema, params, 'path').locationId);
  }

  @Post(':locationId/whatsapp/logout')
  @HttpCode(200)
  async logout(@Param() params: unknown) {
    return this.commands.logout(parseInput(locationParamsSchema, params, 'path').locationId);
  }

  @Post(':locationId/whatsapp/pairing-code')
  @HttpCode(200)
  async pairingCode(@Param() params: unknown, @Body() body: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const { phone } = parseInput(pairingCodeBodySchema, body, 'body');
    return this.commands.pairingCode(locationId, phone);
  }

  @Post(':locationId/whatsapp/messages')
  @HttpCode(200)
  async send(@Param() params: unknown, @Body() body: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const input = parseInput(sendMessageBodySchema, body, 'body');
    return this.commands.send(locationId, input.to, input.text, input.clientMessageId);
  }

  @Get(':locationId/whatsapp/events')
  async recentEvents(@Param() params: unknown, @Query() query: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const { limit } = parseInput(recentEventsQuerySchema, query, 'query');
    return { events: await this.events.recent(locationId, limit) };
  }

  /** Everything an operator needs to understand a session, and no secret (no token, key or QR string). */
  @Get(':locationId/whatsapp/debug')
  async debug(@Param() params: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const snapshot = await this.reads.snapshot(locationId);
    const [extras, recentEvents] = await Promise.all([
      this.reads.debugExtras(locationId, snapshot.lease?.ownerId ?? null),
      this.events.recent(locationId, DEBUG_EVENTS),
    ]);
    const now = snapshot.dbNow.getTime();
    const s = snapshot.session;
    const tokens = (
      [
        ['location', snapshot.locationToken],
        ['company', snapshot.companyToken],
      ] as const
    ).flatMap(([resource, t]) =>
      t
        ? [
            {
              resource,
              kind: t.kind,
              expiresAt: t.expiresAt.toISOString(),
              expired: t.expired,
              expiresInSeconds: Math.round((t.expiresAt.getTime() - now) / 1000),
              scopes: t.scopes.split(' ').filter(Boolean),
              revision: t.revision,
              updatedAt: t.updatedAt.toISOString(),
            },
          ]
        : [],
    );
    return {
      status: toLocationStatus(snapshot),
      session: s
        ? {
            desiredState: s.desiredState,
            state: s.state,
            ownerWorkerId: s.ownerWorkerId,
            stateEpoch: s.stateEpoch,
            qrExpiresAt: s.qrExpiresAt?.toISOString() ?? null,
            lastDisconnectCode: s.lastDisconnectCode,
            lastDisconnectReason: s.lastDisconnectReason,
            updatedAt: s.updatedAt.toISOString(),
          }
        : null,
      lease: snapshot.lease
        ? {
            ownerId: snapshot.lease.ownerId,
            epoch: snapshot.lease.epoch,
            expiresAt: snapshot.lease.expiresAt.toISOString(),
            acquiredAt: snapshot.lease.acquiredAt.toISOString(),
            renewedAt: snapshot.lease.renewedAt.toISOString(),
            live: snapshot.lease.live,
            expiresInMs: snapshot.lease.expiresAt.getTime() - now,
          }
        : null,
      ownerWorker: extras.ownerWorker
        ? {
            ...extras.ownerWorker,
            startedAt: extras.ownerWorker.startedAt.toISOString(),
            heartbeatAt: extras.ownerWorker.heartbeatAt.toISOString(),
          }
        : null,
      authState: {
        ...extras.authState,
        lastWrittenAt: extras.authState.lastWrittenAt?.toISOString() ?? null,
      },
      installation: snapshot.installation
        ? {
            ...snapshot.installation,
            installedAt: snapshot.installation.installedAt.toISOString(),
            uninstalledAt: snapshot.installation.uninstalledAt?.toISOString() ?? null,
            updatedAt: snapshot.installation.updatedAt.toISOString(),
          }
        : null,
      tokens,
      recentEvents,
      dbNow: snapshot.dbNow.toISOString(),
    };
  }
}
