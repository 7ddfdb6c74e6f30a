import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_HEADER_BYTES } from './record-format.js';

const meta = { bytes: 1234, items: { log: 3, span: 2 } };
const value = Buffer.from('{"streams":[{"stream":{"app":"a"},"values":[["1","x"]]}]}');

describe('spool record format', () => {
  it('round-trips meta and value, and records follow each other', () => {
    const two = Buffer.concat([
      encodeRecord(meta, value),
      encodeRecord({ bytes: 1, items: {} }, Buffer.alloc(0)),
    ]);
    const first = decodeRecord(two, 0);
    expect(first.status).toBe('record');
    if (first.status !== 'record') return;
    expect(first.meta).toEqual(meta);
    expect(first.value.equals(value)).toBe(true);
    const second = decodeRecord(two, first.size);
    expect(second.status === 'record' && second.meta).toEqual({ bytes: 1, items: {} });
    expect(second.status === 'record' && first.size + second.size).toBe(two.length);
  });

  it('detects every single flipped byte', () => {
    const record = encodeRecord(meta, value);
    for (let index = 0; index < record.length; index++) {
      const damaged = Buffer.from(record);
      damaged[index] = (damaged[index] as number) ^ 0x40;
      const decoded = decodeRecord(damaged, 0);
      // A damaged length may also look like a record that goes on past the end: incomplete.
      expect(decoded.status, `byte ${index}`).not.toBe('record');
    }
  });

  it('reports a cut record as incomplete, with the bytes it needs', () => {
    const record = encodeRecord(meta, value);
    expect(decodeRecord(record.subarray(0, 5), 0)).toEqual({
      status: 'incomplete',
      needed: RECORD_HEADER_BYTES,
    });
    expect(decodeRecord(record.subarray(0, record.length - 1), 0)).toEqual({
      status: 'incomplete',
      needed: record.length,
    });
  });

  it('refuses zeros (a file extended but never written) and nonsense meta', () => {
    expect(decodeRecord(Buffer.alloc(64), 0).status).toBe('corrupt');
    const badMeta = encodeRecord({ bytes: 1, items: { log: 1 } }, value);
    // Rewrite the meta to an unknown kind and fix the checksum: still refused.
    const forged = encodeRecord({ bytes: 1, items: { bogus: 1 } as never }, value);
    expect(decodeRecord(badMeta, 0).status).toBe('record');
    expect(decodeRecord(forged, 0)).toEqual({ status: 'corrupt', reason: 'unreadable meta' });
  });
});
