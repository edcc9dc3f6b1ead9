import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { inCI } from './helpers.js';

/** Find an executable on PATH (or at an absolute path). */
export function findBinary(name: string): string | null {
  const candidates = name.startsWith('/')
    ? [name]
    : (process.env.PATH ?? '').split(':').map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return null;
}

/**
 * Tests that need a system binary: in CI a missing binary is a failure (the CI
 * script installs it); elsewhere the test is skipped with the reason printed.
 */
export function requireBinary(t: TestContext, path: string, install: string): string | null {
  const found = findBinary(path);
  if (found) return found;
  const message = `${path} not found (install: ${install})`;
  if (inCI) throw new Error(`${message}; CI must install it`);
  process.stderr.write(`skipping: ${message}\n`);
  t.skip(message);
  return null;
}
