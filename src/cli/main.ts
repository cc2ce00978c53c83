/**
 * `flowctl`: one verb per module in this folder, loaded on demand so `flowctl history` does
 * not pay for the HTTP server's imports.
 *
 * @see architecture.md §8 (the CLI contract)
 */
const VERBS: Record<string, { module: string; summary: string }> = {
  serve: { module: './serve.js', summary: 'run the HTTP server (what `npm start` runs)' },
  history: { module: './history.js', summary: 'history <flowId> [--json] [--at <ISO time>]: a flow\'s timeline' },
  replay: { module: './replay.js', summary: 'replay <flowId> | --all: verify every transition through the machine' },
  projections: { module: './projections.js', summary: 'projections list | state <name> [--partition <p>] | rebuild <name> | deploy' },
  bench: { module: './bench.js', summary: 'bench [name...]: run the benchmarks' },
};

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`usage: flowctl <verb> [options]\n\n${Object.entries(VERBS).map(([v, d]) => `  ${v.padEnd(12)} ${d.summary}`).join('\n')}\n`);
    return verb ? 0 : 2;
  }
  const entry = VERBS[verb];
  if (!entry) {
    process.stderr.write(`flowctl: unknown verb ${JSON.stringify(verb)} (try --help)\n`);
    return 2;
  }
  const mod = (await import(entry.module)) as { run(args: string[]): Promise<number> };
  return mod.run(rest);
}

const code = await main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`flowctl: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}\n`);
  return 1;
});
// `serve` resolves once listening; the open server keeps the process alive.
process.exitCode = code;
