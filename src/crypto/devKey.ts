import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError, ErrorCode } from '../errors.js';

export const DEV_KEY_FILE = 'dev-encryption.key';

/**
 * The development fallback when `ENCRYPTION_KEY` is absent: reads `<dataDir>/dev-encryption.key`
 * or creates it (32 random bytes, base64, file mode 0600, created exclusively so two processes
 * starting together end with one key). Returns the base64 key and whether it was just created;
 * the caller must log loudly that a development key is in use.
 */
export async function loadOrCreateDevKey(dataDir: string): Promise<{ key: string; path: string; created: boolean }> {
  const path = join(dataDir, DEV_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  // Written whole to a private temp file, then hard-linked into place: link() fails with
  // EEXIST if another process won, and nobody ever reads a half-written key.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${key}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return { key, path, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const existing = (await readFile(path, 'utf8')).trim();
  if (Buffer.from(existing, 'base64').length !== 32) {
    throw new EngineError(ErrorCode.CONFIG_INVALID, `${path} does not hold a base64 32-byte key`, { details: { key: 'ENCRYPTION_KEY' } });
  }
  return { key: existing, path, created: false };
}
