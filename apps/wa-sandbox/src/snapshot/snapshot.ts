import { z } from 'zod';
import { settingsSchema, type SandboxSettings, type SandboxSnapshot } from '@app/wa-sandbox-client';
import type { SerializedAccount } from '../directory/account';
import type { SerializedTrustAnchor } from '../protocol/trust-anchor';

/**
 * The sandbox's state as JSON: trust anchor, settings, and every account with its devices, uploaded
 * prekeys and primary phone's Signal state. Restoring it lets a load run skip pairing (the driver keeps
 * the companions' creds). Outboxes, offline queues and live connections are not part of it.
 */
export interface SnapshotContent {
  format: 'wa-sandbox-snapshot';
  version: 1;
  createdAt: string;
  trust: SerializedTrustAnchor;
  settings: SandboxSettings;
  accounts: SerializedAccount[];
}

const keyPairSchema = z.object({ public: z.string(), private: z.string() });

/** Checks the parts the sandbox dereferences; account internals are checked as they are rebuilt. */
export const snapshotSchema = z.object({
  format: z.literal('wa-sandbox-snapshot'),
  version: z.literal(1),
  createdAt: z.string(),
  trust: z.object({ root: keyPairSchema, intermediate: keyPairSchema, serverStatic: keyPairSchema }),
  settings: settingsSchema,
  accounts: z.array(
    z.looseObject({
      phone: z.string(),
      lidUser: z.string(),
      name: z.string(),
      devices: z.array(z.looseObject({ deviceId: z.number().int().min(1) })),
    }),
  ),
});

export function parseSnapshot(body: unknown): SnapshotContent {
  const result = snapshotSchema.safeParse(body);
  if (!result.success) {
    throw new Error(
      `not a wa-sandbox snapshot: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return body as SnapshotContent;
}

export function asPublicSnapshot(content: SnapshotContent): SandboxSnapshot {
  return content as unknown as SandboxSnapshot;
}
