import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** A TypeScript child process with line-wise stdout, for the multi-process race tests. */
export function spawnTsChild(script: string, args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }) as unknown as ChildProcessWithoutNullStreams;
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  let exitCode: number | null = null;
  const exited = new Promise<number>((r) => p.on('exit', (code) => {
    exitCode = code ?? -1;
    waiters.splice(0).forEach((w) => w());
    r(exitCode);
  }));
  /** The next stdout line; rejects when the child exits first (a crash fails the test, never hangs it). */
  const next = async (): Promise<string> => {
    while (!lines.length) {
      if (exitCode !== null) throw new Error(`child ${script} exited with code ${exitCode} before printing a line`);
      await new Promise<void>((r) => waiters.push(r));
    }
    return lines.shift()!;
  };
  return { p, next, exited };
}
