/**
 * Conversions between OTLP/JSON scalars and their protobuf wire form: hex ids ↔ bytes, 64-bit
 * integers (decimal strings or JSON numbers) ↔ the `{low, high}` pairs protobufjs writes and the
 * `Long`s it reads. JavaScript numbers cannot hold nanosecond timestamps exactly, so everything
 * 64-bit goes through BigInt.
 *
 * Encoding is total: a value the Faro model let through but the wire type cannot hold (a 25-digit
 * timestamp, flags past 2^32) is clamped, never thrown on. One odd span must not make a backend
 * refuse the whole push it shares with other sessions' spans.
 */

/** What protobufjs's writer accepts for a 64-bit field without the `long` library's class. */
export interface LongBits {
  low: number;
  high: number;
  unsigned: boolean;
}

/** What protobufjs's reader returns for 64-bit fields (a `long` instance), or a plain number. */
export type DecodedLong = number | { low: number; high: number; unsigned?: boolean };

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT32_MAX = 0xffff_ffff;
const DECIMAL = /^-?[0-9]+$/;

/** A JSON integer or decimal string as a BigInt; anything else (fractions, junk) as undefined. */
function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && DECIMAL.test(value)) return BigInt(value);
  return undefined;
}

const clamp = (value: bigint, min: bigint, max: bigint): bigint =>
  value < min ? min : value > max ? max : value;

/** `fixed64` nanoseconds: decimal string or integer, clamped to [0, 2^64-1]; absent ⇒ 0. */
export function uint64Bits(value: unknown): LongBits {
  return bitsOf(clamp(toBigInt(value) ?? 0n, 0n, UINT64_MAX), true);
}

/** `int64` (AnyValue.int_value): clamped to the signed range; absent ⇒ 0. */
export function int64Bits(value: unknown): LongBits {
  return bitsOf(clamp(toBigInt(value) ?? 0n, INT64_MIN, INT64_MAX), false);
}

/** `uint32` / `fixed32` fields (counts, flags): integers clamped to [0, 2^32-1]; anything else ⇒ 0. */
export function uint32Of(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
  return Math.min(UINT32_MAX, Math.max(0, Math.trunc(value)));
}

function bitsOf(value: bigint, unsigned: boolean): LongBits {
  const twos = BigInt.asUintN(64, value);
  return {
    low: Number(twos & 0xffff_ffffn) | 0,
    high: Number(twos >> 32n) | 0,
    unsigned,
  };
}

/** A decoded 64-bit value as the decimal string OTLP/JSON uses. */
export function decimalOf(value: DecodedLong | null | undefined, unsigned: boolean): string {
  if (value === null || value === undefined) return '0';
  if (typeof value === 'number') return BigInt(Math.trunc(value)).toString();
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return (unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}

/** A LongBits written by the encoder, read back as the decimal string (for the JSON encoding). */
export function decimalOfBits(bits: LongBits): string {
  return decimalOf(bits, bits.unsigned);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Hex id → bytes. The model already checked the pattern; anything else becomes empty bytes. */
export function hexToBytes(hex: unknown): Uint8Array {
  return typeof hex === 'string' && HEX.test(hex) ? Buffer.from(hex, 'hex') : new Uint8Array(0);
}

export function bytesToHex(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** `bytesValue` travels as base64 in OTLP/JSON (the standard proto3 JSON mapping for bytes). */
export function base64ToBytes(text: unknown): Uint8Array {
  return typeof text === 'string' ? Buffer.from(text, 'base64') : new Uint8Array(0);
}

export function bytesToBase64(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
