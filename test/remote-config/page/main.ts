import { faro, getWebInstrumentations, initializeFaro } from '@grafana/faro-web-sdk';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';
import {
  faroOptionsFrom,
  loadRemoteConfig,
} from '../../../packages/faro-remote-config/src/index.js';

/**
 * The browser test page's script (bundled by the test with esbuild, with the real Faro Web SDK
 * and tracing from npm): load the app's remote config with the helper, map it onto Faro's
 * options, start Faro, and report what happened on `window.__result`. Written against Node's
 * types (root tsconfig), so the page globals go through `globalThis`.
 */

interface PageSettings {
  configUrl: string;
  collectUrl: string;
  timeoutMs: number;
}

export interface PageResult {
  source: string;
  samplingRate: number;
  version: number | null;
  /** Time spent in loadRemoteConfig, ms. */
  loadMs: number;
  /** Time from navigation start to initializeFaro returning, ms. */
  initializedAt: number;
}

const page = globalThis as unknown as {
  __SETTINGS__: PageSettings;
  __result?: PageResult;
  __error?: string;
};

async function main(): Promise<void> {
  const settings = page.__SETTINGS__;
  const started = performance.now();
  const remote = await loadRemoteConfig({
    configUrl: settings.configUrl,
    timeoutMs: settings.timeoutMs,
  });
  const loadMs = performance.now() - started;
  const { config, tracingOptions } = faroOptionsFrom(remote);
  initializeFaro({
    url: settings.collectUrl,
    app: { name: 'remote-config-test', version: '1.0.0', environment: 'test' },
    ...config,
    instrumentations: [
      ...getWebInstrumentations(),
      new TracingInstrumentation({ instrumentationOptions: tracingOptions }),
    ],
  });
  faro.api.pushEvent('page_ready', { source: remote.source });
  page.__result = {
    source: remote.source,
    samplingRate: remote.samplingRate,
    version: remote.version,
    loadMs,
    initializedAt: performance.now(),
  };
}

main().catch((error: unknown) => {
  page.__error = String(error);
});
