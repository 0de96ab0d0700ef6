import { Injectable } from '@nestjs/common';
import type { MessageDirection } from '@app/persistence';
import { Sql } from '../db/sql';
import { StatementBatcher } from '../db/statement-batcher';

/**
 * What the sync remembers about one side effect, in `processed_messages.result`:
 * - `pending`: the GHL write is about to be made or in flight (an intent, written before the call);
 * - `send_failed`: WhatsApp refused a GHL outbound message for good; GHL still has to be told;
 * - `done`: the side effect happened; its result is kept to answer duplicates.
 */
export type ProcessedRecord =
  | {
      state: 'pending';
      attemptAt: number;
      conversationId?: string;
      contactId?: string;
      /** The GHL URL of the media this attempt uploaded: the message is written (and looked for) with it. */
      attachment?: string;
    }
  | { state: 'send_failed'; reason: string }
  | {
      state: 'done';
      ghlMessageId: string | null;
      waMessageId?: string | null;
      conversationId?: string | null;
      detail?: string | null;
      /** For message statuses: the highest status written so far. */
      rank?: number;
    };

export type BeginResult = { fresh: true } | { fresh: false; record: ProcessedRecord; ageMs: number };

/** Idempotency keys: consumer kind, location, then the natural id. */
export const idempotencyKey = {
  inbound: (locationId: string, waMessageId: string) => `sync:wa-inbound:${locationId}:${waMessageId}`,
  mirror: (locationId: string, waMessageId: string) => `sync:wa-mirror:${locationId}:${waMessageId}`,
  ghlOutbound: (locationId: string, ghlMessageId: string) =>
    `sync:ghl-outbound:${locationId}:${ghlMessageId}`,
  status: (locationId: string, ghlMessageId: string) => `sync:ghl-status:${locationId}:${ghlMessageId}`,
};

export interface MappingInput {
  locationId: string;
  waMessageId: string;
  ghlMessageId: string;
  direction: MessageDirection;
}

interface BeginItem {
  key: string;
  locationId: string;
  record: string;
}

interface CompleteItem {
  key: string;
  locationId: string;
  record: string;
  mapping?: MappingInput;
}

/**
 * `processed_messages` (and the `message_mappings` written with them): checked before a side effect
 * and written with its result, so a redelivered or replayed event never writes to GHL twice.
 *
 * The two writes every synced event makes (`begin`, `complete`) are batched across concurrent events
 * (StatementBatcher): one statement, one commit for all events that reached that step together.
 */
@Injectable()
export class ProcessedMessageRepository {
  private readonly beginBatch = new StatementBatcher<BeginItem, boolean>((items) =>
    this.insertIntents(items),
  );
  private readonly completeBatch = new StatementBatcher<CompleteItem, void>((items) =>
    this.writeResults(items),
  );

  constructor(private readonly sql: Sql) {}

  /**
   * Writes a `pending` intent unless the key exists. When it exists, returns what is recorded and how
   * old the record's last attempt is.
   */
  async begin(
    key: string,
    locationId: string,
    pending: Omit<Extract<ProcessedRecord, { state: 'pending' }>, 'state' | 'attemptAt'> = {},
  ): Promise<BeginResult> {
    const record: ProcessedRecord = { state: 'pending', attemptAt: Date.now(), ...pending };
    const fresh = await this.beginBatch.submit({ key, locationId, record: JSON.stringify(record) });
    if (fresh) return { fresh: true };
    const existing = await this.get(key);
    if (!existing) return this.begin(key, locationId, pending);
    return existing;
  }

  /** One INSERT for a batch of intents; true for each key this batch created. */
  private async insertIntents(items: BeginItem[]): Promise<boolean[]> {
    // A key twice in one batch (one event delivered twice at once): only its first item may win.
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      if (!first.has(item.key)) first.set(item.key, i);
    });
    const unique = [...first.values()].map((i) => items[i]);
    const { rows } = await this.sql.query<{ key: string }>(
      `INSERT INTO processed_messages (key, location_id, result)
       SELECT * FROM unnest($1::text[], $2::varchar[], $3::jsonb[])
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [unique.map((i) => i.key), unique.map((i) => i.locationId), unique.map((i) => i.record)],
      'sync_processed_begin_batch',
    );
    const created = new Set(rows.map((r) => r.key));
    return items.map((item, i) => created.has(item.key) && first.get(item.key) === i);
  }

  /** One statement for a batch of results and their mappings (all or none). */
  private async writeResults(items: CompleteItem[]): Promise<void[]> {
    // The last result of a key wins (DO UPDATE may touch a row once per statement).
    const byKey = new Map<string, CompleteItem>();
    for (const item of items) byKey.set(item.key, item);
    const records = [...byKey.values()];
    const mappings = items.flatMap((item) => (item.mapping ? [item.mapping] : []));
    await this.sql.query(
      `WITH mapped AS (
         INSERT INTO message_mappings (location_id, wa_message_id, ghl_message_id, direction)
         SELECT * FROM unnest($4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[])
         ON CONFLICT DO NOTHING
       )
       INSERT INTO processed_messages (key, location_id, result)
       SELECT * FROM unnest($1::text[], $2::varchar[], $3::jsonb[])
       ON CONFLICT (key) DO UPDATE SET result = EXCLUDED.result`,
      [
        records.map((r) => r.key),
        records.map((r) => r.locationId),
        records.map((r) => r.record),
        mappings.map((m) => m.locationId),
        mappings.map((m) => m.waMessageId),
        mappings.map((m) => m.ghlMessageId),
        mappings.map((m) => m.direction),
      ],
      'sync_processed_complete_batch',
    );
    return items.map(() => undefined);
  }

  async get(key: string): Promise<{ fresh: false; record: ProcessedRecord; ageMs: number } | null> {
    const { rows } = await this.sql.query<{ result: ProcessedRecord; created_at: Date }>(
      `SELECT result, created_at FROM processed_messages WHERE key = $1`,
      [key],
      'sync_processed_get',
    );
    const row = rows[0];
    if (!row) return null;
    const since = row.result.state === 'pending' ? row.result.attemptAt : row.created_at.getTime();
    return { fresh: false, record: row.result, ageMs: Date.now() - since };
  }

  /** Replaces a pending record (a new attempt, or what the attempt learned, e.g. the conversation). */
  async updatePending(key: string, record: Extract<ProcessedRecord, { state: 'pending' }>): Promise<void> {
    await this.sql.query(
      `UPDATE processed_messages SET result = $2::jsonb WHERE key = $1 AND result->>'state' = 'pending'`,
      [key, JSON.stringify(record)],
    );
  }

  /** Any state to any state (e.g. `send_failed`), creating the record when missing. */
  async put(key: string, locationId: string, record: ProcessedRecord): Promise<void> {
    await this.sql.query(
      `INSERT INTO processed_messages (key, location_id, result) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (key) DO UPDATE SET result = EXCLUDED.result`,
      [key, locationId, JSON.stringify(record)],
    );
  }

  /**
   * The side effect happened: records its result and, when given, the GHL ↔ WhatsApp mapping, in one
   * statement (both or neither).
   */
  async complete(
    key: string,
    locationId: string,
    record: Extract<ProcessedRecord, { state: 'done' }>,
    mapping?: MappingInput,
  ): Promise<void> {
    await this.completeBatch.submit({ key, locationId, record: JSON.stringify(record), mapping });
  }

  /** Forgets a pending intent whose call certainly changed nothing in GHL (an answered 4xx/429/401). */
  async clearPending(key: string): Promise<void> {
    await this.sql.query(`DELETE FROM processed_messages WHERE key = $1 AND result->>'state' = 'pending'`, [
      key,
    ]);
  }

  /** Records a mapping on its own (a WhatsApp echo of a message we sent for GHL). */
  async map(mapping: MappingInput): Promise<void> {
    await this.sql.query(
      `INSERT INTO message_mappings (location_id, wa_message_id, ghl_message_id, direction)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [mapping.locationId, mapping.waMessageId, mapping.ghlMessageId, mapping.direction],
    );
  }

  async mappingByWaMessage(
    locationId: string,
    waMessageId: string,
  ): Promise<{ ghlMessageId: string; direction: MessageDirection } | null> {
    const { rows } = await this.sql.query<{ ghl_message_id: string; direction: MessageDirection }>(
      `SELECT ghl_message_id, direction FROM message_mappings WHERE location_id = $1 AND wa_message_id = $2`,
      [locationId, waMessageId],
    );
    return rows[0] ? { ghlMessageId: rows[0].ghl_message_id, direction: rows[0].direction } : null;
  }

  /**
   * Raises the recorded status rank of a GHL message; false when a higher or equal status was written
   * already (receipts can arrive out of order after retries, and GHL must never go read → delivered).
   */
  async raiseStatusRank(
    key: string,
    locationId: string,
    rank: number,
    ghlMessageId: string,
  ): Promise<boolean> {
    const record: ProcessedRecord = { state: 'done', ghlMessageId, rank };
    const { rows } = await this.sql.query(
      `INSERT INTO processed_messages AS p (key, location_id, result) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (key) DO UPDATE SET result = EXCLUDED.result
         WHERE COALESCE((p.result->>'rank')::int, -1) < $4
       RETURNING key`,
      [key, locationId, JSON.stringify(record), rank],
    );
    return rows.length > 0;
  }

  async statusRank(key: string): Promise<number> {
    const { rows } = await this.sql.query<{ rank: number | null }>(
      `SELECT (result->>'rank')::int AS rank FROM processed_messages WHERE key = $1`,
      [key],
    );
    return rows[0]?.rank ?? -1;
  }
}
