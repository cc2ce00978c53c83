import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Session } from 'node:inspector';
import type { ExecutionContext } from 'ava';

/**
 * Holds the SQLite file's write lock from another process for `ms` (a waiting write here blocks
 * this thread, so the lock cannot be held from it). Resolves once the lock is taken.
 */
export async function holdLockElsewhere(t: ExecutionContext, path: string, ms: number): Promise<{ released: Promise<unknown> }> {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(path)}); db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms}); db.exec('COMMIT'); db.close();`;
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill());
  const released = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    child.once('exit', () => reject(new Error('the lock holder exited before taking the lock')));
  });
  return { released };
}

/**
 * Runs V8's CPU profiler on this thread, sampling every 50 µs, until the returned stop is called
 * (or the test ends). On Linux it samples with SIGPROF, so every sleep of this thread (SQLite's
 * busy handler among them) ends early, as it does under `node --cpu-prof` in production.
 */
export async function profileThisThread(t: ExecutionContext): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await post('Profiler.stop');
    session.disconnect();
  };
  t.teardown(stop);
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 50 });
  await post('Profiler.start');
  return stop;
}
