import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { proto } from '@whiskeysockets/baileys';
import type { Account } from '../directory/account';
import type { LinkedDevice } from '../directory/linked-device';

/**
 * What a primary phone sends a freshly linked companion: its app-state sync key, then the history-sync
 * notification. Without the notification Baileys waits 20 s in AwaitingInitialSync (buffering every
 * event) on its first login; the registration advertises `inlineInitialPayloadInE2EeMsg`, so the
 * (empty) history travels inline and no media server is needed.
 */
export function appStateKeyShare(account: Account, device: LinkedDevice): proto.IMessage {
  return {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
      appStateSyncKeyShare: {
        keys: [
          {
            keyId: { keyId: randomBytes(6) },
            keyData: {
              keyData: randomBytes(32),
              fingerprint: { rawId: account.rawId, currentIndex: 0, deviceIndexes: [0, device.keyIndex] },
              timestamp: Date.now(),
            },
          },
        ],
      },
    },
  };
}

export function initialHistorySync(account: Account): proto.IMessage {
  const history = proto.HistorySync.encode({
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations: [],
    pushnames: [{ id: account.pnJid, pushname: account.name }],
    progress: 100,
    chunkOrder: 0,
  }).finish();
  return {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType: proto.Message.HistorySyncType.INITIAL_BOOTSTRAP,
        chunkOrder: 0,
        progress: 100,
        initialHistBootstrapInlinePayload: deflateSync(history),
      },
    },
  };
}
