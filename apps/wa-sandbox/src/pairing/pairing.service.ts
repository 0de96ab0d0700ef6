import { createHmac, randomBytes } from 'node:crypto';
import { Curve, proto, type BinaryNode, type KeyPair } from '@whiskeysockets/baileys';
import type { PairingCodeRequestInfo, PairingResult } from '@app/wa-sandbox-client';
import type { Logger } from '../common/logger';
import { SandboxError } from '../common/sandbox-error';
import type { SettingsHolder } from '../common/settings';
import type { ClientConnection } from '../connection/client-connection';
import type { ConnectionRegistry } from '../connection/connection-registry';
import type { Account } from '../directory/account';
import type { AccountDirectory } from '../directory/account-directory';
import { LinkedDevice } from '../directory/linked-device';
import {
  child,
  contentBuffer,
  failure,
  iqResult,
  node,
  nowSeconds,
  readBigEndian,
  requireChildBuffer,
  S_WHATSAPP_NET,
  streamErrors,
} from '../protocol/nodes';
import { verifySignature } from '../protocol/xeddsa';
import type { StatsCounters } from '../stats/stats-counters';
import {
  deriveAdvSecret,
  normalizePairingCode,
  openKeyBundle,
  unwrapEphemeral,
  wrapEphemeral,
} from './link-code-crypto';
import { parseCompanionQr } from './qr-code';

const ADV_ACCOUNT_SIGNATURE_PREFIX = Buffer.from([6, 0]);
const ADV_DEVICE_SIGNATURE_PREFIX = Buffer.from([6, 1]);
/** The phone waits this long for the companion's `companion_finish` after sending `primary_hello`. */
const CODE_FINISH_TIMEOUT_MS = 30_000;

interface PairingOptions {
  phone: string;
  name?: string;
  platform?: string;
}

interface PendingCodePairing {
  connection: ClientConnection;
  phone: string;
  wrappedCompanionEphemeral: Buffer;
  ref: string;
  requestedAt: Date;
  /** Set while the phone waits for `companion_finish`. */
  awaitingFinish?: (finish: BinaryNode) => void;
}

/**
 * The phone side of linking a companion: QR refs for registering connections, a simulated scan,
 * the pairing-code exchange, `pair-success` with a signed device identity, and the 515 restart.
 */
export class PairingService {
  private readonly codeRequests = new Map<string, PendingCodePairing>();

  constructor(
    private readonly directory: AccountDirectory,
    private readonly registry: ConnectionRegistry,
    private readonly stats: StatsCounters,
    private readonly settings: SettingsHolder,
    private readonly logger: Logger,
  ) {}

  /** A companion without credentials: hand it QR refs (Baileys shows one per `qrTimeout`). */
  startRegistration(connection: ClientConnection, payload: proto.ClientPayload): void {
    if (!payload.devicePairingData?.eIdent) {
      connection.end(failure(400));
      return;
    }
    connection.stage = 'registration';
    connection.registration = payload.devicePairingData;
    const refs = Array.from(
      { length: this.settings.current.qrRefs },
      () => `2@${randomBytes(24).toString('base64')}`,
    );
    this.registry.registerRefs(connection, refs);
    const iq = node('iq', { from: S_WHATSAPP_NET, type: 'set', xmlns: 'md' }, [
      node(
        'pair-device',
        {},
        refs.map((ref) => node('ref', {}, Buffer.from(ref))),
      ),
    ]);
    connection
      .query(iq)
      .catch((error: Error) => this.logger.debug({ conn: connection.id, err: error.message }, 'pair-device'));
  }

  /** The phone of `phone` scans `qr`; resolves once the companion accepted the pairing. */
  async scanQr(qr: string, options: PairingOptions): Promise<PairingResult> {
    const parsed = parseCompanionQr(qr);
    if (!parsed) throw new SandboxError('bad_request', 'not a WhatsApp companion QR string');
    const connection = this.registry.connectionForRef(parsed.ref);
    if (!connection || !connection.isLive || connection.stage !== 'registration') {
      throw new SandboxError(
        'not_found',
        'no registering connection shows this QR (expired, or already used)',
      );
    }
    const registration = connection.registration;
    if (!connection.clientStaticKey?.equals(parsed.noiseKey)) {
      throw new SandboxError('bad_request', "the QR's noise key is not the connection's");
    }
    if (!registration?.eIdent || !Buffer.from(registration.eIdent).equals(parsed.identityKey)) {
      throw new SandboxError('bad_request', "the QR's identity key is not the registered one");
    }
    const { account } = this.directory.ensure(options.phone, options.name);
    return this.completePairing(connection, account, parsed.identityKey, parsed.advSecret, options);
  }

  pendingCodeRequests(): PairingCodeRequestInfo[] {
    return [...this.codeRequests.values()]
      .filter((r) => r.connection.isLive)
      .map((r) => ({ phone: r.phone, requestedAt: r.requestedAt.toISOString() }));
  }

  /** `md` iq `link_code_companion_reg stage=companion_hello`: the companion asked for a pairing code. */
  handleCompanionHello(connection: ClientConnection, iq: BinaryNode, reg: BinaryNode): void {
    const phone = (reg.attrs.jid ?? '').split('@')[0].split(':')[0];
    const wrapped = contentBuffer(child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub'));
    const serverAuthKey = contentBuffer(child(reg, 'companion_server_auth_key_pub'));
    if (!phone || !wrapped || !serverAuthKey?.equals(connection.clientStaticKey ?? Buffer.alloc(0))) {
      connection.send(
        node('iq', { from: S_WHATSAPP_NET, type: 'error', id: iq.attrs.id ?? '' }, [
          node('error', { code: '400', text: 'bad-request' }),
        ]),
      );
      return;
    }
    const ref = randomBytes(16).toString('base64url');
    this.codeRequests.set(phone, {
      connection,
      phone,
      wrappedCompanionEphemeral: wrapped,
      ref,
      requestedAt: new Date(),
    });
    connection.send(
      iqResult(iq, [
        node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, Buffer.from(ref))]),
      ]),
    );
  }

  /** `md` iq `link_code_companion_reg stage=companion_finish`: hand it to the phone waiting for it. */
  handleCompanionFinish(connection: ClientConnection, iq: BinaryNode, reg: BinaryNode): void {
    const ref = contentBuffer(child(reg, 'link_code_pairing_ref'))?.toString();
    const pending = [...this.codeRequests.values()].find((r) => r.connection === connection && r.ref === ref);
    connection.send(iqResult(iq));
    pending?.awaitingFinish?.(reg);
  }

  /** The user types `code` on the phone of `phone`; resolves once the companion accepted the pairing. */
  async confirmPairingCode(code: string, options: PairingOptions): Promise<PairingResult> {
    const pending = this.codeRequests.get(options.phone);
    if (!pending || !pending.connection.isLive || pending.connection.stage !== 'registration') {
      throw new SandboxError('not_found', `no companion is waiting for a pairing code for ${options.phone}`);
    }
    const connection = pending.connection;
    const normalized = normalizePairingCode(code);
    const { account } = this.directory.ensure(options.phone, options.name);
    const companionEphemeral = unwrapEphemeral(pending.wrappedCompanionEphemeral, normalized);
    const primaryEphemeral: KeyPair = Curve.generateKeyPair();
    const finished = new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SandboxError('timeout', 'the companion never sent companion_finish')),
        CODE_FINISH_TIMEOUT_MS,
      );
      pending.awaitingFinish = (finish) => {
        clearTimeout(timer);
        resolve(finish);
      };
    });
    connection.send(
      node(
        'notification',
        {
          from: S_WHATSAPP_NET,
          type: 'link_code_companion_reg',
          id: randomBytes(8).toString('hex'),
          t: nowSeconds(),
        },
        [
          node('link_code_companion_reg', { stage: 'primary_hello' }, [
            node(
              'link_code_pairing_wrapped_primary_ephemeral_pub',
              {},
              wrapEphemeral(primaryEphemeral.public, normalized),
            ),
            node('primary_identity_pub', {}, Buffer.from(account.primaryPhone.identityKeyPair.public)),
            node('link_code_pairing_ref', {}, Buffer.from(pending.ref)),
          ]),
        ],
      ),
    );
    const finish = await finished.finally(() => {
      pending.awaitingFinish = undefined;
    });
    let bundle;
    try {
      bundle = openKeyBundle(
        requireChildBuffer(finish, 'link_code_pairing_wrapped_key_bundle'),
        primaryEphemeral,
        companionEphemeral,
      );
    } catch {
      // As on a real phone, a mistyped code can be typed again: the companion answers every primary_hello.
      throw new SandboxError('bad_request', 'wrong pairing code: the key bundle does not open');
    }
    this.codeRequests.delete(options.phone);
    const companionIdentity = requireChildBuffer(finish, 'companion_identity_public');
    const registered = connection.registration?.eIdent;
    if (
      !bundle.companionIdentity.equals(companionIdentity) ||
      !registered ||
      !companionIdentity.equals(Buffer.from(registered))
    ) {
      throw new SandboxError(
        'bad_request',
        'the companion identity in the key bundle does not match its registration',
      );
    }
    const advSecret = deriveAdvSecret(
      primaryEphemeral,
      companionEphemeral,
      account.primaryPhone.identityKeyPair,
      companionIdentity,
      bundle.random,
    );
    return this.completePairing(connection, account, companionIdentity, advSecret, options);
  }

  /** Sends `pair-success`, checks the companion's device signature, registers the device, then 515. */
  private async completePairing(
    connection: ClientConnection,
    account: Account,
    identityKey: Buffer,
    advSecret: Buffer,
    options: PairingOptions,
  ): Promise<PairingResult> {
    const registration = connection.registration;
    const noiseKey = connection.clientStaticKey;
    if (!registration || !noiseKey) throw new SandboxError('conflict', 'connection is not registering');
    // The refs are spent: a second scan of the same QR must not pair again.
    this.registry.releaseRefs(connection);
    const accountKey = account.primaryPhone.identityKeyPair;
    const deviceId = account.nextDeviceId++;
    const keyIndex = account.nextKeyIndex++;
    const details = proto.ADVDeviceIdentity.encode({
      rawId: account.rawId,
      timestamp: Math.floor(Date.now() / 1000),
      keyIndex,
      accountType: proto.ADVEncryptionType.E2EE,
      deviceType: proto.ADVEncryptionType.E2EE,
    }).finish();
    const accountSignature = Curve.sign(
      accountKey.private,
      Buffer.concat([ADV_ACCOUNT_SIGNATURE_PREFIX, details, identityKey]),
    );
    const signed = proto.ADVSignedDeviceIdentity.encode({
      details,
      accountSignatureKey: accountKey.public,
      accountSignature,
    }).finish();
    const hmac = createHmac('sha256', advSecret).update(signed).digest();
    const container = proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac }).finish();
    const device = new LinkedDevice(
      account.phone,
      account.lidUser,
      deviceId,
      keyIndex,
      noiseKey,
      identityKey,
      readBigEndian(registration.eRegid ?? Buffer.alloc(4)),
      {
        id: readBigEndian(registration.eSkeyId ?? Buffer.alloc(3)),
        publicKey: Buffer.from(registration.eSkeyVal ?? Buffer.alloc(32)),
        signature: Buffer.from(registration.eSkeySig ?? Buffer.alloc(64)),
      },
      companionPlatform(registration),
      new Date(),
    );
    let reply: BinaryNode;
    try {
      reply = await connection.query(
        node('iq', { from: S_WHATSAPP_NET, type: 'set', t: nowSeconds() }, [
          node('pair-success', {}, [
            node('device-identity', {}, container),
            node('platform', { name: options.platform ?? 'smba' }),
            node('device', { jid: device.jid, lid: device.lidJid }),
            node('biz', { name: options.name ?? account.name }),
          ]),
        ]),
      );
    } catch (error) {
      throw new SandboxError(
        'conflict',
        `the companion did not accept the pairing: ${(error as Error).message}`,
      );
    }
    const signedBack = requireChildBuffer(child(reply, 'pair-device-sign'), 'device-identity');
    const back = proto.ADVSignedDeviceIdentity.decode(signedBack);
    const deviceMessage = Buffer.concat([
      ADV_DEVICE_SIGNATURE_PREFIX,
      details,
      identityKey,
      accountKey.public,
    ]);
    if (!back.deviceSignature || !verifySignature(identityKey, deviceMessage, back.deviceSignature)) {
      connection.end(streamErrors.restart());
      throw new SandboxError('conflict', "the companion's device signature does not verify");
    }
    account.devices.set(deviceId, device);
    this.stats.pairings++;
    this.logger.info(
      { conn: connection.id, jid: device.jid, lid: device.lidJid },
      'device paired; restarting stream',
    );
    // The real server asks for a restart right after pairing; the companion logs in again (515).
    connection.end(streamErrors.restart());
    return { phone: account.phone, lid: account.lidUser, deviceId, jid: device.jid, lidJid: device.lidJid };
  }
}

function companionPlatform(registration: proto.ClientPayload.IDevicePairingRegistrationData): string {
  if (!registration.deviceProps) return 'unknown';
  try {
    return proto.DeviceProps.decode(registration.deviceProps).os ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
