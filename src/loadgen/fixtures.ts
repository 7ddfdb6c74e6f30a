import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileTemplate, type BodyTemplate } from './template.js';

/**
 * The captured Faro SDK 2.12 traffic the simulated sessions are built from. The same path works
 * from `src/loadgen` (tsx, tests) and from `dist/loadgen` (the built CLI).
 */
export const DEFAULT_FIXTURES_DIR = fileURLToPath(
  new URL('../../test/fixtures/faro-sdk-2.12/', import.meta.url),
);

/**
 * One visit of the capture's `main` scenario, in the order the SDK sent it, then a reload: page
 * load with navigation and web vitals, console logs and errors (minified frames of
 * `app.min.js`), custom logs, events and measurements, a click with resource and user-action
 * events and a traced fetch, a view change, a plain traced fetch, the vitals sent when the tab is
 * hidden, and the reload's page load (`session_resume`) and last vitals. 17 requests.
 */
export const SESSION_STEPS: readonly { readonly name: string; readonly file: string }[] = [
  {
    name: 'page-load',
    file: '01-main-page-load--ev_session_start+ev_faro.performance.navigation+webvital_fcp+webvital_ttfb.json',
  },
  { name: 'console-logs-error', file: '02-main-console--log_info+log_warn+exc_Error.json' },
  { name: 'console-error-object', file: '03-main-console-error-object--exc_RangeError.json' },
  { name: 'push-log', file: '04-main-pushLog--log_log+log_info.json' },
  { name: 'push-error', file: '05-main-pushError--exc_Error.json' },
  { name: 'uncaught-error', file: '06-main-uncaught-error--exc_Error.json' },
  { name: 'unhandled-rejection', file: '07-main-unhandled-rejection--exc_TypeError.json' },
  { name: 'push-event', file: '08-main-pushEvent--ev_checkout_started.json' },
  { name: 'push-measurement', file: '09-main-pushMeasurement--meas_cart_metrics.json' },
  {
    name: 'click-resource-action',
    file: '10-main-click-user-action-fetch--ev_faro.performance.resource+ev_faro.user.action+webvital_lcp.json',
  },
  {
    name: 'click-traced-fetch',
    file: '11-main-click-user-action-fetch--ev_faro.tracing.fetch+traces.json',
  },
  { name: 'set-view', file: '12-main-setView--ev_view_changed.json' },
  { name: 'plain-fetch-resource', file: '13-main-plain-fetch--ev_faro.performance.resource.json' },
  { name: 'plain-traced-fetch', file: '14-main-plain-fetch--ev_faro.tracing.fetch+traces.json' },
  { name: 'hidden-vitals', file: '15-main-visibility-hidden--webvital_inp+webvital_cls.json' },
  {
    name: 'reload-page-load',
    file: '16-main-reload-page-load--ev_session_resume+ev_faro.performance.navigation+webvital_fcp+webvital_ttfb.json',
  },
  {
    name: 'navigate-away-vitals',
    file: '17-main-reload-navigate-away--webvital_cls+webvital_lcp.json',
  },
];

/** The browser the capture ran in: headers a real SDK request carries besides its own. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'sec-ch-ua-platform': '"Linux"',
  'sec-ch-ua': '"Not:A-Brand";v="8", "Chromium";v="156"',
  'sec-ch-ua-mobile': '?0',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
  accept: '*/*',
  'sec-fetch-site': 'same-site',
  'sec-fetch-mode': 'cors',
  'sec-fetch-dest': 'empty',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-US,en;q=0.9',
};

export interface SessionStep {
  readonly name: string;
  readonly template: BodyTemplate;
}

/** Reads and compiles the session's steps once, at start. */
export function loadSessionSteps(dir: string = DEFAULT_FIXTURES_DIR): SessionStep[] {
  return SESSION_STEPS.map(({ name, file }) => {
    let text: string;
    try {
      text = readFileSync(join(dir, file), 'utf8');
    } catch (error) {
      throw new Error(
        `cannot read the fixture ${file} from ${dir}: ${(error as Error).message} (set --fixtures)`,
      );
    }
    return { name, template: compileTemplate(JSON.parse(text)) };
  });
}
