import type { FaroPayload } from '../../src/model/index.js';

/**
 * One secret of each kind the default rules cover, and the substrings that must never survive.
 * The card is checked both as written and without its spaces.
 */
export const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZWFrIiwiZW1haWwiOiJ4QHkueiJ9.Xk2bT7pQ9vR4sW1yZ8aC3dE6fG0hJ5kL';
export const SECRETS = {
  email: 'alice.leak@example.com',
  encodedEmail: 'bob.leak%40example.org',
  bearer: 'tok_9f8e7d6c5b4a3f2e1d0c',
  jwt: JWT,
  card: '4111 1111 1111 1111',
  cardCompact: '4111111111111111',
  queryValue: 'qs-s3cr3t-value',
  fragmentValue: 'frag-s3cr3t-value',
} as const;

/** A text with every secret, as an app might log it. */
export const LEAKY_TEXT = [
  `user ${SECRETS.email}`,
  `lookup ?user=${SECRETS.encodedEmail}`,
  `Authorization: Bearer ${SECRETS.bearer}`,
  `session ${SECRETS.jwt}`,
  `card ${SECRETS.card} / ${SECRETS.cardCompact}`,
  `callback https://shop.example/cb?access_token=${SECRETS.queryValue}&page=2`,
  `redirect https://shop.example/#id_token=${SECRETS.fragmentValue}`,
].join('; ');

/** The substrings none of which may remain. */
export const FORBIDDEN: readonly string[] = [
  SECRETS.email,
  'alice.leak',
  SECRETS.encodedEmail,
  'bob.leak',
  SECRETS.bearer,
  SECRETS.jwt,
  SECRETS.jwt.split('.')[1] as string,
  SECRETS.card,
  SECRETS.cardCompact,
  SECRETS.queryValue,
  SECRETS.fragmentValue,
];

/** Fields whose format the model validates (date-time, hex ids, nanoseconds): left alone. */
const FORMATTED = new Set([
  'timestamp',
  'traceId',
  'spanId',
  'parentSpanId',
  'startTimeUnixNano',
  'endTimeUnixNano',
  'timeUnixNano',
]);

/**
 * A copy of a payload with the leaky text appended to every string it holds (values and map
 * keys), plus unknown fields at the top, in an item and in meta, and card numbers in numeric
 * unknown fields and OTLP integers. Still a valid Faro payload.
 */
export function leakyCopy(payload: FaroPayload): FaroPayload {
  const copy = structuredClone(payload) as Record<string, unknown>;
  poison(copy);
  copy.sdkDebug = { note: LEAKY_TEXT, cardOnFile: Number(SECRETS.cardCompact) };
  const meta = (copy.meta ?? {}) as Record<string, unknown>;
  meta.custom = { [`key ${SECRETS.email}`]: LEAKY_TEXT };
  copy.meta = meta;
  for (const kind of ['logs', 'exceptions', 'measurements', 'events']) {
    for (const item of (copy[kind] as Record<string, unknown>[] | undefined) ?? []) {
      item.extra = [LEAKY_TEXT, { deeper: LEAKY_TEXT }];
    }
  }
  return copy;
}

function poison(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach((child, index) => {
      if (typeof child === 'string') node[index] = `${child} ${LEAKY_TEXT}`;
      else poison(child);
    });
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (FORMATTED.has(key)) continue;
    if (typeof value === 'string') record[key] = `${value} ${LEAKY_TEXT}`;
    else poison(value);
    // String maps: secrets in keys too.
    if ((key === 'context' || key === 'attributes') && !Array.isArray(value) && value) {
      (value as Record<string, unknown>)[`from ${SECRETS.email}`] = 'x';
    }
  }
  // A span: an integer attribute holding a card number.
  if (Array.isArray(record.attributes) && 'spanId' in record) {
    (record.attributes as unknown[]).push({
      key: 'payment.card',
      value: { intValue: SECRETS.cardCompact },
    });
  }
}
