import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './system.js';

/** A self-signed certificate for localhost / 127.0.0.1 / ::1, made with openssl at test time. */
export function makeCertificate(): {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
  cleanup: () => void;
} | null {
  const openssl = findBinary('openssl');
  if (!openssl) return null;
  const dir = mkdtempSync(join(tmpdir(), 'socketeer-tls-'));
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem')),
    key: readFileSync(join(dir, 'key.pem')),
    certFile: join(dir, 'cert.pem'),
    keyFile: join(dir, 'key.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
