import { createPublicKey } from 'node:crypto';
import { parseDuration } from './duration';
import type { EnvParser, Parsed } from './env-var';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (message: string): Parsed<never> => ({ ok: false, message });

export function oneOf<const V extends string>(values: readonly V[]): EnvParser<V> {
  return (raw) =>
    (values as readonly string[]).includes(raw) ? ok(raw as V) : bad(`must be one of ${values.join('|')}`);
}

export function integer(min: number, max: number): EnvParser<number> {
  return (raw) => {
    const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max
      ? ok(n)
      : bad(`must be an integer from ${min} to ${max}`);
  };
}

/** 0 is allowed so tests can ask the OS for a free port. */
export const port: EnvParser<number> = integer(0, 65535);

export function url(protocols: readonly string[]): EnvParser<string> {
  const names = protocols.map((p) => `${p}//`).join(' or ');
  return (raw) => {
    try {
      const parsed = new URL(raw);
      if (protocols.includes(parsed.protocol) && parsed.host !== '') return ok(raw);
    } catch {
      // fall through to the message below
    }
    return bad(`must be a ${names} URL`);
  };
}

const natsUrl = url(['nats:', 'tls:']);

/** One NATS URL or a comma-separated list of them (a cluster's seed servers). */
export const natsUrls: EnvParser<string[]> = (raw) => {
  const servers = raw.split(',').map((s) => s.trim());
  return servers.every((s) => natsUrl(s).ok)
    ? ok(servers)
    : bad('must be a nats:// URL or a comma-separated list of them');
};

export const postgresUrl: EnvParser<string> = (raw) => {
  const checked = url(['postgres:', 'postgresql:'])(raw);
  return checked.ok ? checked : bad('must be a postgres:// URL');
};

/** Milliseconds. */
export const duration: EnvParser<number> = (raw) => {
  const ms = parseDuration(raw);
  return ms === undefined ? bad('must be a duration such as 12h, 7d or 30d') : ok(ms);
};

export const nonEmpty: EnvParser<string> = (raw) => (raw.length > 0 ? ok(raw) : bad('must not be empty'));

/**
 * Worker ids travel in NATS subject tokens and lease rows, so no `.`, `*`, `>` or whitespace.
 */
export const instanceId: EnvParser<string> = (raw) =>
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(raw)
    ? ok(raw)
    : bad('must be 1-128 letters, digits, "_" or "-", starting with a letter or digit');

export const ENCRYPTION_KEY_BYTES = 32;

/** The base64 text of exactly 32 random bytes (AES-256). Kept as text; decode where it is used. */
export const encryptionKey: EnvParser<string> = (raw) => {
  const valid =
    /^[A-Za-z0-9+/]+={0,2}$/.test(raw) &&
    raw.length % 4 === 0 &&
    Buffer.from(raw, 'base64').length === ENCRYPTION_KEY_BYTES;
  return valid ? ok(raw) : bad(`must be ${ENCRYPTION_KEY_BYTES} bytes base64`);
};

/**
 * A PEM public key of the given type. Many secret stores and `.env` files cannot hold newlines, so a
 * literal `\n` is accepted in their place.
 */
export function pemPublicKey(type: 'ed25519' | 'rsa'): EnvParser<string> {
  const label = type === 'ed25519' ? 'Ed25519' : 'RSA';
  return (raw) => {
    const pem = raw.replace(/\\n/g, '\n');
    // createPublicKey also accepts a private key; refusing it here keeps private keys out of this slot.
    if (!/^-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem)) return bad(`must be a PEM ${label} public key`);
    try {
      if (createPublicKey(pem).asymmetricKeyType === type) return ok(pem);
    } catch {
      // fall through to the message below
    }
    return bad(`must be a PEM ${label} public key`);
  };
}

/** An http(s) base URL, without the trailing `/` so callers can append paths that start with one. */
export const httpBaseUrl: EnvParser<string> = (raw) => {
  const checked = url(['http:', 'https:'])(raw);
  return checked.ok ? ok(checked.value.replace(/\/+$/, '')) : checked;
};
