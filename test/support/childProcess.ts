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
  const next = async (): Promise<string> => {
    while (!lines.length) await new Promise<void>((r) => waiters.push(r));
    return lines.shift()!;
  };
  const exited = new Promise<number>((r) => p.on('exit', (code) => r(code ?? -1)));
  return { p, next, exited };
}
