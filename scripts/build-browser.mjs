// Bundles the browser messaging SDK into one minified ESM file with esbuild
// (a build-time devDependency; the bundle itself has no dependencies).
// Run by `npm run build` after tsc has type-checked src/browser/tsconfig.json.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = resolve(root, 'dist/browser/socketeer-messaging.js');
mkdirSync(dirname(outfile), { recursive: true });

const result = await build({
  entryPoints: [resolve(root, 'src/browser/socketeer-messaging.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // ES2022: class fields and #private names as they are (every current browser has them).
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const bytes =
  result.metafile.outputs[Object.keys(result.metafile.outputs).find((f) => f.endsWith('.js'))].bytes;
process.stdout.write(`browser SDK: ${outfile} (${bytes} bytes minified)\n`);
