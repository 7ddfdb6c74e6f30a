import { describe, expect, it } from 'vitest';
import {
  bytesToHex,
  decimalOf,
  decimalOfBits,
  hexToBytes,
  int64Bits,
  uint32Of,
  uint64Bits,
} from './wire-values.js';

describe('wire values', () => {
  it('keeps nanosecond timestamps exact (they do not fit a double)', () => {
    for (const nanos of ['1795573543520000001', '18446744073709551615', '0']) {
      expect(decimalOfBits(uint64Bits(nanos))).toBe(nanos);
    }
    expect(decimalOfBits(uint64Bits(1795573543520))).toBe('1795573543520');
  });

  it('clamps what a wire type cannot hold instead of wrapping around', () => {
    expect(decimalOfBits(uint64Bits('99999999999999999999'))).toBe('18446744073709551615');
    expect(decimalOfBits(uint64Bits('-5'))).toBe('0');
    expect(decimalOfBits(uint64Bits('junk'))).toBe('0');
    expect(decimalOfBits(int64Bits('9223372036854775808'))).toBe('9223372036854775807');
    expect(decimalOfBits(int64Bits(-42))).toBe('-42');
    expect(decimalOfBits(int64Bits('-9223372036854775809'))).toBe('-9223372036854775808');
    expect(uint32Of(2 ** 40)).toBe(0xffffffff);
    expect(uint32Of(-1)).toBe(0);
    expect(uint32Of('257')).toBe(0);
  });

  it('reads decoded Longs as signed or unsigned decimals', () => {
    const allOnes = { low: -1, high: -1 };
    expect(decimalOf(allOnes, true)).toBe('18446744073709551615');
    expect(decimalOf(allOnes, false)).toBe('-1');
    expect(decimalOf(undefined, true)).toBe('0');
    expect(decimalOf(12, false)).toBe('12');
  });

  it('turns hex ids into bytes and back, and junk into empty bytes', () => {
    const id = 'F883FAAD099234562A1709A58B706623';
    expect(bytesToHex(hexToBytes(id))).toBe(id.toLowerCase());
    expect(hexToBytes('abc')).toHaveLength(0);
    expect(hexToBytes(undefined)).toHaveLength(0);
    expect(bytesToHex(new Uint8Array(0))).toBe('');
  });
});
