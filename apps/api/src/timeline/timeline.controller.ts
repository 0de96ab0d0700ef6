import { Controller, Get, Param, Query } from '@nestjs/common';
import { asUnavailable, type DeadLetterEntry } from '@app/messaging';
import { AdminOnly, OperatorOnly } from '../auth/auth.decorators';
import { ApiError } from '../http/api-error';
import { parseInput } from '../http/zod-input';
import { locationParamsSchema } from '../locations/locations.schemas';
import { adminDeadLetterQuerySchema, deadLetterQuerySchema, timelineQuerySchema } from './timeline.schemas';
import { InvalidCursorError, TimelineService } from './timeline.service';

const DEFAULT_LOOKBACK_MS = 24 * 60 * 60 * 1000;
// The JetStream API timeout of the connection: a read that outlasts it is the bus not answering.
const BUS_TIMEOUT_MS = 5_000;

/**
 * The operators' debugging views of one location, read from JetStream: its session story (events,
 * GHL results, dead letters in stored order) and its dead letters with their reasons. API keys only;
 * a location key reaches its own location only (the access guard).
 */
@Controller('api')
export class TimelineController {
  constructor(private readonly timeline: TimelineService) {}

  @Get('locations/:locationId/events')
  @OperatorOnly()
  async events(@Param() params: unknown, @Query() query: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const q = parseInput(timelineQuerySchema, query, 'query');
    const now = Date.now();
    const page = await readBus(() =>
      this.timeline.page({
        locationId,
        since: q.since ? new Date(q.since) : new Date(now - DEFAULT_LOOKBACK_MS),
        until: q.until ? new Date(q.until) : new Date(now),
        types: q.types,
        limit: q.limit,
        cursor: q.cursor,
      }),
    );
    return {
      locationId,
      since: page.since.toISOString(),
      until: page.until.toISOString(),
      entries: page.entries,
      next: page.next,
    };
  }

  @Get('locations/:locationId/dead-letters')
  @OperatorOnly()
  async locationDeadLetters(@Param() params: unknown, @Query() query: unknown) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const q = parseInput(deadLetterQuerySchema, query, 'query');
    const page = await readBus(() => this.timeline.deadLetterPage(locationId, q.limit, q.cursor));
    return { deadLetters: page.deadLetters.map(toDeadLetter), next: page.next };
  }

  @Get('dead-letters')
  @AdminOnly()
  async deadLetters(@Query() query: unknown) {
    const q = parseInput(adminDeadLetterQuerySchema, query, 'query');
    const page = await readBus(() => this.timeline.deadLetterPage(q.location, q.limit, q.cursor));
    return { deadLetters: page.deadLetters.map(toDeadLetter), next: page.next };
  }
}

async function readBus<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof InvalidCursorError) {
      throw ApiError.badRequest('invalid_cursor', `${err.message}; start the listing again without a cursor`);
    }
    throw asUnavailable(err, 'JetStream', BUS_TIMEOUT_MS) ?? err;
  }
}

function toDeadLetter(entry: DeadLetterEntry) {
  return {
    seq: entry.seq,
    storedAt: entry.storedAt.toISOString(),
    locationId: entry.locationId,
    originalSubject: entry.originalSubject,
    eventId: entry.eventId,
    eventType: entry.eventType,
    errorKind: entry.errorKind,
    reason: entry.reason,
    consumer: entry.consumer,
    deliveryCount: entry.deliveryCount,
    failedAt: entry.failedAt,
  };
}
