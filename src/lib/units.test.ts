import { describe, expect, it } from 'vitest';
import { parseListenAddress } from './address.js';
import { formatBytes, parseByteSize, parseDuration } from './units.js';

describe('parseByteSize', () => {
  it('keeps binary and decimal units apart', () => {
    expect(parseByteSize('5MiB')).toBe(5 * 1024 * 1024);
    expect(parseByteSize('5MB')).toBe(5_000_000);
    expect(parseByteSize('1.5 KiB')).toBe(1536);
    expect(parseByteSize('512')).toBe(512);
    expect(parseByteSize(2048)).toBe(2048);
  });
  it('refuses what is not a size', () => {
    for (const bad of ['', 'lots', '5 MiBs', '-1', '1e3', 'MiB'])
      expect(parseByteSize(bad), bad).toBeUndefined();
    expect(parseByteSize(-1)).toBeUndefined();
  });
  it('formats limits for messages', () => {
    expect(formatBytes(5 * 1024 * 1024)).toBe('5 MiB');
    expect(formatBytes(1000)).toBe('1000 B');
  });
});

describe('parseDuration', () => {
  it('reads milliseconds and units', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration(1500)).toBe(1500);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', 'soon', '5 minutes', '-3s'])
      expect(parseDuration(bad), bad).toBeUndefined();
  });
});

describe('parseListenAddress', () => {
  it('reads IPv4, names, bracketed IPv6 and an empty host', () => {
    expect(parseListenAddress('127.0.0.1:12347')).toEqual({ host: '127.0.0.1', port: 12347 });
    expect(parseListenAddress('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListenAddress(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
  });
  it('refuses ports out of range and missing ports', () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'host:port', '::1:80'])
      expect(parseListenAddress(bad), bad).toBeUndefined();
  });
});
