import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./storeChild.ts', import.meta.url));

/** Starts `storeChild.ts` in a new Node process (through tsx, like the tests themselves). */
export function spawnStoreChild(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: 'pipe' });
}

/** Resolves with the first stdout line that `match` accepts. */
export function waitForLine(child: ChildProcessWithoutNullStreams, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      const hit = lines.find(match);
      if (hit !== undefined) {
        child.stdout.off('data', onData);
        resolve(hit);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`store child exited ${code} before the expected line`)));
  });
}

/** Resolves with the child's whole stdout once it exits with 0; rejects with its stderr otherwise. */
export function runStoreChild(args: string[], child = spawnStoreChild(args)): Promise<string> {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`store child ${args[0]} exited ${code ?? signal}: ${err}`)),
    );
  });
}
