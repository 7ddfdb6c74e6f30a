import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FIXTURES_DIR } from '../../../test/helpers/fixtures.js';
import { registerPrivacyCommands } from './cli.js';

const TRACED_FETCH = fileURLToPath(
  new URL('11-main-click-user-action-fetch--ev_faro.tracing.fetch+traces.json', FIXTURES_DIR),
);

/** Runs `pharos privacy …` in-process and returns what it printed. */
async function privacy(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerPrivacyCommands(program);
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'pharos', 'privacy', ...args]);
  } finally {
    write.mockRestore();
  }
  return out;
}

describe('pharos privacy dry-run', () => {
  let dir: string;
  let config: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-privacy-cli-'));
    config = join(dir, 'pharos.yaml');
    writeFileSync(
      config,
      [
        'privacy:',
        '  dropFields: [meta.browser.userAgent]',
        'tenants:',
        '  - id: capture',
        '    privacy:',
        '      keepUserEmail: true',
        '      extraQueryParams: [item]',
        '    apps: []',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each change as path: before → after, then the totals', async () => {
    const out = await privacy('dry-run', '--config', config, TRACED_FETCH);
    expect(out).toContain('meta.browser.userAgent: "Mozilla/5.0');
    expect(out).toContain('→ (dropped)');
    expect(out).toContain('meta.user.email: "alice@example.com" → "[email]"');
    expect(out).toContain(
      'traces.resourceSpans[0].scopeSpans[0].spans[0].attributes[3].value.stringValue: "alice@example.com" → "[email]"',
    );
    expect(out).toContain('events[0].attributes["user.email"]: "alice@example.com" → "[email]"');
    expect(out.trim().split('\n').at(-1)).toBe('4 fields would change (email 3, dropFields 1)');
  });

  it("applies a tenant's override", async () => {
    const out = await privacy('dry-run', '--config', config, '--tenant', 'capture', TRACED_FETCH);
    expect(out).not.toContain('alice@example.com');
    expect(out).toContain(
      'events[0].attributes["url.full"]: "http://127.0.0.1:5602/api/buy?item=book" → "http://127.0.0.1:5602/api/buy"',
    );
  });

  it('prints the built-in rules without a config, and JSON on request', async () => {
    const report = JSON.parse(await privacy('dry-run', '--json', TRACED_FETCH)) as {
      byRule: Record<string, number>;
      payload: unknown;
    };
    expect(report.byRule).toEqual({ email: 3 });
    expect(JSON.stringify(report.payload)).not.toContain('alice@example.com');
  });

  it('refuses an undeclared tenant, a bad rule and an invalid payload', async () => {
    await expect(
      privacy('dry-run', '--config', config, '--tenant', 'nope', TRACED_FETCH),
    ).rejects.toThrow(/tenant nope is not declared.*capture/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'privacy:\n  customRules:\n    - { name: x, pattern: "a*" }\n');
    await expect(privacy('dry-run', '--config', bad, TRACED_FETCH)).rejects.toThrow(
      /privacy\.customRules\[0\]\.pattern: must not match the empty string/,
    );
    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, '{"logs": "nope"}');
    await expect(privacy('dry-run', invalid)).rejects.toThrow(/logs/);
  });
});
