import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, NOISE_MODE, proto, type KeyPair } from '@whiskeysockets/baileys';

/**
 * The responder side of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, mirroring Baileys'
 * `Utils/noise-handler.js`: the 32-byte protocol name is used raw as the initial hash, salt and key;
 * one key and one counter serve both directions during the handshake; the running hash is the AAD.
 */

const EMPTY = Buffer.alloc(0);
const TAG_LENGTH = 16;

function iv(counter: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32BE(counter, 8);
  return out;
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hkdf64(ikm: Uint8Array, salt: Uint8Array): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [out.subarray(0, 32), out.subarray(32)];
}

export function aesGcmEncrypt(
  key: Uint8Array,
  counter: number,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv(counter));
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function aesGcmDecrypt(
  key: Uint8Array,
  counter: number,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  if (ciphertext.length < TAG_LENGTH) throw new Error('ciphertext shorter than its tag');
  const decipher = createDecipheriv('aes-256-gcm', key, iv(counter));
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
  return Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH)),
    decipher.final(),
  ]);
}

/** Post-handshake cipher: one key and counter per direction, empty AAD. */
export class NoiseTransport {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly readKey: Buffer,
    private readonly writeKey: Buffer,
  ) {}

  encrypt(plaintext: Uint8Array): Buffer {
    return aesGcmEncrypt(this.writeKey, this.writeCounter++, plaintext, EMPTY);
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    return aesGcmDecrypt(this.readKey, this.readCounter++, ciphertext, EMPTY);
  }
}

export interface NoiseServerIdentity {
  staticKeyPair: KeyPair;
  /** Encoded `proto.CertChain` proving the static key, signed under the sandbox root. */
  certChain: Uint8Array;
}

export interface HandshakeResult {
  /** The companion's long-term Noise key (`creds.noiseKey.public`). */
  clientStaticKey: Buffer;
  clientPayload: proto.ClientPayload;
  transport: NoiseTransport;
}

export class NoiseServerHandshake {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private ephemeral?: KeyPair;

  constructor(private readonly identity: NoiseServerIdentity) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode;
    this.salt = mode;
    this.key = mode;
  }

  /** Message 1 → 2: takes the client's intro header and `clientHello`, returns the encoded `serverHello`. */
  respondToHello(introHeader: Uint8Array, helloFrame: Uint8Array): Buffer {
    const { clientHello } = proto.HandshakeMessage.decode(helloFrame);
    const clientEphemeral = clientHello?.ephemeral;
    if (!clientEphemeral || clientEphemeral.length !== 32)
      throw new Error('clientHello without a 32-byte ephemeral');
    this.authenticate(introHeader);
    this.authenticate(clientEphemeral);
    this.ephemeral = Curve.generateKeyPair();
    this.authenticate(this.ephemeral.public);
    this.mix(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const encryptedStatic = this.encrypt(this.identity.staticKeyPair.public);
    this.mix(Curve.sharedKey(this.identity.staticKeyPair.private, clientEphemeral));
    const encryptedPayload = this.encrypt(this.identity.certChain);
    return Buffer.from(
      proto.HandshakeMessage.encode({
        serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload: encryptedPayload },
      }).finish(),
    );
  }

  /** Message 3: decrypts the client's static key and `ClientPayload`, and derives the transport keys. */
  finish(finishFrame: Uint8Array): HandshakeResult {
    if (!this.ephemeral) throw new Error('clientFinish before clientHello');
    const { clientFinish } = proto.HandshakeMessage.decode(finishFrame);
    if (!clientFinish?.static || !clientFinish.payload)
      throw new Error('clientFinish without static or payload');
    const clientStaticKey = this.decrypt(clientFinish.static);
    this.mix(Curve.sharedKey(this.ephemeral.private, clientStaticKey));
    const clientPayload = proto.ClientPayload.decode(this.decrypt(clientFinish.payload));
    // The client encrypts with the first half and decrypts with the second; mirrored here.
    const [clientWrite, clientRead] = hkdf64(EMPTY, this.salt);
    return {
      clientStaticKey,
      clientPayload,
      transport: new NoiseTransport(Buffer.from(clientWrite), Buffer.from(clientRead)),
    };
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(this.hash, data);
  }

  private mix(ikm: Uint8Array): void {
    const [salt, key] = hkdf64(ikm, this.salt);
    this.salt = Buffer.from(salt);
    this.key = Buffer.from(key);
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ciphertext = aesGcmEncrypt(this.key, this.counter++, plaintext, this.hash);
    this.authenticate(ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const plaintext = aesGcmDecrypt(this.key, this.counter++, ciphertext, this.hash);
    this.authenticate(ciphertext);
    return plaintext;
  }
}
