import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';

/**
 * `docker-compose config` validates docker-compose.yml (schema, anchors, profiles) without a
 * Docker engine. The Debian `docker-compose` package provides it; CI installs it, so there its
 * absence is a failure rather than a silent pass.
 */
const run = promisify(execFile);

async function composeBinary(): Promise<boolean> {
  try {
    await run('docker-compose', ['version']);
    return true;
  } catch {
    return false;
  }
}

const available = await composeBinary();

if (available) {
  for (const args of [[], ['--profile', 'single']]) {
    test(`docker-compose config accepts the compose file${args.length ? ' with the single-node profile' : ''}`, async (t) => {
      const { stderr } = await run('docker-compose', [...args, 'config', '-q'], { cwd: new URL('../../', import.meta.url) });
      t.is(stderr.trim(), '');
    });
  }
  test('the cluster profile runs three KurrentDB nodes and two engine replicas on the cluster', async (t) => {
    const { stdout } = await run('docker-compose', ['config'], { cwd: new URL('../../', import.meta.url) });
    t.regex(stdout, /EVENT_STORE: esdb:\/\/node1:2113,node2:2113,node3:2113\?tls=false/);
    t.is(stdout.match(/KURRENTDB_CLUSTER_SIZE: '3'/g)?.length, 3);
  });
} else if (process.env.CI === 'true') {
  test('docker-compose is installed on CI to validate docker-compose.yml', (t) => {
    t.fail('docker-compose not found: install the Debian package `docker-compose` (apt-get install -y docker-compose)');
  });
} else {
  console.log('compose.test: docker-compose is not installed; docker-compose.yml was not validated');
}
