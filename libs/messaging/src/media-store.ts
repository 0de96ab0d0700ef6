import { nanos, StorageType, type ObjectStore } from 'nats';
import type { StoredMedia } from '@app/contracts';
import { MessagingConnection } from './nats-connection';

/** The object store bucket for WhatsApp media. Part of the deployed state: never rename it. */
export const MEDIA_BUCKET = 'wa-media';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface MediaStoreOptions {
  /** How long bytes are kept when nobody deletes them. Default 7 days (the events' retention). */
  maxAgeMs?: number;
  /** Copies in a clustered NATS. Default 1. */
  replicas?: number;
}

/**
 * Media bytes beside the bus, not on it: the session worker stores what it downloads from WhatsApp
 * under a name, events carry only that name (`content.stored`), and the sync fetches the bytes when
 * it needs them. JetStream's object store chunks them (128 KiB), so no message comes near the
 * server's payload limit; entries expire after `maxAgeMs` and the sync deletes what it has used.
 */
export class MediaStore {
  private bucket: Promise<ObjectStore> | undefined;
  private readonly maxAgeMs: number;
  private readonly replicas: number;

  constructor(
    private readonly connection: MessagingConnection,
    options: MediaStoreOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 7 * DAY_MS;
    this.replicas = options.replicas ?? 1;
  }

  /** Stores one WhatsApp message's media, named after the location and message (a retry overwrites). */
  async put(
    message: { locationId: string; waMessageId: string },
    bytes: Uint8Array,
    mimetype: string,
  ): Promise<StoredMedia> {
    const name = `${message.locationId}/${message.waMessageId}`;
    const info = await (await this.store()).putBlob({ name, description: mimetype }, bytes);
    return { objectName: info.name, sizeBytes: info.size };
  }

  /** The bytes, or null when there is no such object (never stored, expired or deleted). */
  async get(name: string): Promise<Uint8Array | null> {
    return (await this.store()).getBlob(name);
  }

  async delete(name: string): Promise<void> {
    const store = await this.store();
    if (await store.info(name)) await store.delete(name);
  }

  /** Opens the bucket, creating it on first use; a failure is retried by the next call. */
  private store(): Promise<ObjectStore> {
    this.bucket ??= this.connection.js.views
      .os(MEDIA_BUCKET, {
        description: 'WhatsApp media bytes, referenced by name from message events',
        storage: StorageType.File,
        ttl: nanos(this.maxAgeMs),
        replicas: this.replicas,
      })
      .catch((err: unknown) => {
        this.bucket = undefined;
        throw err;
      });
    return this.bucket;
  }
}
