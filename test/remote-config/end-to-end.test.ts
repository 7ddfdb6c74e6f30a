import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideSession } from '../../src/admission/sampling.js';
import {
  launchChromium,
  startHttpServer,
  waitForItems,
  type HttpServer,
} from '../browser/helpers.js';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import { sumCounter } from '../idempotency/gateway.js';
import type { PageResult } from './page/main.js';

/**
 * The helper and the gateway together: pages in Chromium load their config from Pharos's
 * `/config/:appKey` and send to its `/collect/:appKey`, for an app sampled at 0.5. Every session
 * the browser keeps must be kept by the gateway too (so nothing is sampled out there), and the
 * browser must keep about half of them.
 */

const KEY = 'e2e-sampling-key-0123456789';
const APP = 'e2e-app';
const TENANT = 'e2e';

interface PageGlobals {
  __result?: PageResult;
  __error?: string;
  sessionStorage: { getItem(key: string): string | null };
}

describe('remote config + gateway sampling, end to end', () => {
  let bundle: string;
  let pageServer: HttpServer;
  let pharos: TestPharos;
  let browser: Browser;

  beforeAll(async () => {
    const built = await build({
      entryPoints: [new URL('./page/main.ts', import.meta.url).pathname],
      bundle: true,
      format: 'iife',
      target: ['chrome100'],
      write: false,
      logLevel: 'warning',
    });
    bundle = built.outputFiles[0]?.text ?? '';
    pageServer = await startHttpServer((request, response) => {
      if (request.url === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
        return;
      }
      const settings = JSON.stringify({
        configUrl: `${pharos.publicUrl}/config/${KEY}`,
        collectUrl: `${pharos.publicUrl}/collect/${KEY}`,
        timeoutMs: 2000,
      });
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>e2e</title></head><body>` +
          `<script>window.__SETTINGS__ = ${settings};</script><script src="/app.js"></script></body></html>`,
      );
    });
    pharos = await startTestPharos({
      tenants: [
        {
          id: TENANT,
          apps: [{ id: APP, allowedOrigins: [pageServer.origin], keys: [KEY], samplingRate: 0.5 }],
        },
      ],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pharos?.stop();
    await pageServer?.close();
  });

  it('the gateway keeps every session the browser sends, and the browser keeps its share', async () => {
    const decisions: boolean[] = [];
    for (let visit = 0; visit < 12; visit++) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(pageServer.origin);
        await page.waitForFunction(() => {
          const globals = globalThis as unknown as PageGlobals;
          return globals.__result !== undefined || globals.__error !== undefined;
        });
        const { result, stored } = await page.evaluate(() => {
          const globals = globalThis as unknown as PageGlobals;
          return {
            result: globals.__result,
            stored: globals.sessionStorage.getItem('com.grafana.faro.session'),
          };
        });
        expect(result).toMatchObject({ source: 'network', samplingRate: 0.5 });
        const session = JSON.parse(stored ?? 'null') as { sessionId: string; isSampled: boolean };
        expect(session.isSampled).toBe(decideSession(session.sessionId, 0.5) === 'keep');
        decisions.push(session.isSampled);
        if (session.isSampled) {
          await waitForItems(pharos, APP, { session: session.sessionId }, (snapshot) =>
            snapshot.events.some((stored) => stored.item.name === 'page_ready')
              ? []
              : ['page_ready event'],
          );
        }
      } finally {
        await context.close();
      }
    }
    const metrics = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(sumCounter(metrics, 'pharos_ingest_sampled_out_total', { tenant: TENANT })).toBe(0);
    expect(decisions.filter(Boolean).length).toBeGreaterThan(0);
    expect(decisions.filter((kept) => !kept).length).toBeGreaterThan(0);
  }, 90_000);
});
