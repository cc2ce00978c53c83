import { startServer } from '../server.js';

/**
 * `flowctl serve` (what `npm start` runs): starts the server and stops it cleanly on SIGINT or
 * SIGTERM, closing the store so the SQLite WAL is checkpointed.
 */
export async function run(_args: string[]): Promise<number> {
  const server = await startServer(process.env);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`flowctl serve: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`flowctl serve: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return 0;
}
