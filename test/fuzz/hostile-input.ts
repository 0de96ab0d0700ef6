import fc from 'fast-check';

/**
 * What an attacker, a broken client or a buggy peer sends: the building blocks of every bad-input
 * property (HTTP and NATS). Values are JSON-able unless the name says otherwise.
 */

/** Strings that broke real systems: traversal, injection, control characters, odd unicode, huge. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  '\r\nX-Injected: 1',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f',
  '%00',
  '%ZZ',
  '%E0%A4%A',
  "' OR '1'='1' --",
  '"; DROP TABLE installations; --',
  '$1',
  '<script>alert(1)</script>',
  '"><svg onload=alert(1)>',
  '{{7*7}}${7*7}',
  '${jndi:ldap://127.0.0.1/a}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '_global',
  '*',
  '>',
  'evt.>',
  'a.b.c',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x7fffffff',
  'true',
  '\uD800',
  '\uDFFF\uD800',
  '\u202Eevil',
  '\uFEFF',
  'Ω≈ç√∫˜µ≤',
  '👍🏽👨‍👩‍👧‍👦',
  'ǅ\u0301\u0301\u0301',
  '\\',
  '\\u0000',
  '/',
  '//evil.example.com',
  'javascript:alert(1)',
  'http://169.254.169.254/latest/meta-data/',
  'file:///etc/passwd',
  'A'.repeat(65),
  'A'.repeat(257),
  'x'.repeat(5_000),
] as const;

/** A hostile string: a known troublemaker, random unicode (lone surrogates included), or a mix. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 10 }))
      .map(([a, b]) => `${b}${a}${b}`),
  },
  // Control characters inside otherwise ordinary text (PostgreSQL text refuses NUL, headers refuse CR/LF).
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.constantFrom('\u0000', '\r\n', '\u001f', '\u007f'),
      )
      .map(([text, control]) => `${text}${control}${text}`),
  },
);

/** Numbers JSON can carry that code often mishandles. */
const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, leaning on hostile leaves and prototype-polluting keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; leaf: unknown }>((tie) => ({
  leaf: fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null)),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: tie('leaf') },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    {
      weight: 1,
      arbitrary: fc.dictionary(
        fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'payload', 'type'), hostileString),
        tie('value'),
        { maxKeys: 4 },
      ),
    },
  ),
})).value;

/**
 * Takes a valid object apart: a field dropped, a field given a hostile or wrong-typed value, an extra
 * field (prototype-polluting ones included), a nested field broken, or the whole thing replaced.
 */
export function mutated(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const options: fc.WeightedArbitrary<unknown>[] = [
    { weight: 1, arbitrary: hostileJson },
    {
      weight: 1,
      arbitrary: fc.tuple(hostileString, hostileJson).map(([key, value]) => withOwnKey(valid, key, value)),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...PROTOTYPE_POLLUTERS)
        .map((extra) => ({ ...valid, ...(JSON.parse(extra) as Record<string, unknown>) })),
    },
  ];
  if (keys.length > 0) {
    const field = fc.constantFrom(...keys);
    options.push(
      // Most often one field gets a hostile string: the input most likely to pass a type check and
      // reach code (or a database) that cannot take it.
      {
        weight: 4,
        arbitrary: fc.tuple(field, hostileString).map(([key, value]) => ({ ...valid, [key]: value })),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(field, hostileJson).map(([key, value]) => ({ ...valid, [key]: value })),
      },
      {
        weight: 1,
        arbitrary: field.map((key) => {
          const copy = { ...valid };
          delete copy[key];
          return copy;
        }),
      },
      { weight: 1, arbitrary: field.map((key) => ({ ...valid, [key]: [valid[key]] })) },
    );
    const nested = keys.filter((key) => isPlainObject(valid[key]));
    if (nested.length > 0) {
      options.push({
        weight: 2,
        arbitrary: fc
          .constantFrom(...nested)
          .chain((key) =>
            mutated(valid[key] as Record<string, unknown>).map((inner) => ({ ...valid, [key]: inner })),
          ),
      });
    }
  }
  return fc.oneof(...options);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{...valid, [key]: value}` even for `__proto__`, which an object literal would treat as the prototype. */
function withOwnKey(valid: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...valid };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

/** JSON texts that pollute `Object.prototype` in code that merges parsed input naively. */
export const PROTOTYPE_POLLUTERS = [
  '{"__proto__":{"polluted":"yes","isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"__proto__":null}',
] as const;

/** A JSON text nested `depth` levels deep (arrays or objects). */
export function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Bytes that are not JSON, though they may look like it. */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '}',
    '{"a":}',
    "{'a':1}",
    '{"a":1,}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":1}{"b":2}',
    '{"a":"\u0000"}',
    '[1,2',
    'null',
    '"just a string"',
    '12',
    'true',
    '\uFEFF{"a":1}',
    '{"a":"\\ud800"}',
    '{"a":"\\x41"}',
    '{"a":01}',
    '<?xml version="1.0"?><a/>',
    'a=1&b=2',
  ),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/** What a request body can be: JSON text of some value, or bytes that are not JSON at all. */
export type BodyShape =
  { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Buffer };

export function bodyText(body: BodyShape): Buffer {
  switch (body.kind) {
    case 'json':
      return Buffer.from(JSON.stringify(body.value) ?? 'null');
    case 'text':
      return Buffer.from(body.text);
    case 'bytes':
      return body.bytes;
  }
}

/** Bodies that break at the parser, not the schema: malformed, deep, polluting, wrong encoding. */
export const unparseableBody: fc.Arbitrary<BodyShape> = fc.oneof(
  malformedJson.map((text): BodyShape => ({ kind: 'text', text })),
  fc
    .tuple(fc.integer({ min: 1_000, max: 20_000 }), fc.constantFrom<'array' | 'object'>('array', 'object'))
    .map(([depth, kind]): BodyShape => ({ kind: 'text', text: deeplyNested(depth, kind) })),
  fc.constantFrom(...PROTOTYPE_POLLUTERS).map((text): BodyShape => ({ kind: 'text', text })),
  fc
    .uint8Array({ minLength: 1, maxLength: 200 })
    .map((bytes): BodyShape => ({ kind: 'bytes', bytes: Buffer.from(bytes) })),
  fc.constant<BodyShape>({
    kind: 'bytes',
    bytes: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  }),
);

/** Content types a client may claim, right and wrong. */
export const contentTypes: fc.Arbitrary<string | undefined> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=nonsense',
  'application/vnd.api+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'application/json, text/plain',
  'garbage',
  undefined,
);
