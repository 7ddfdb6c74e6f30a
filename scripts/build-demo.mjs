// Bundles the demo page's script (src/ui/demo/client) with the real Faro Web SDK from npm.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../src/ui/demo/client/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/ui/demo/app.js', import.meta.url).pathname,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
});
