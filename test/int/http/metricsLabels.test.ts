import test from 'ava';
import { startApp } from './_app.js';

test('a user-managed server is counted under one fixed label and its name stays off /metrics; a configured server keeps its own', async (t) => {
  const app = await startApp();
  t.teardown(() => app.close());

  const created = await app.call('/api/mcp/servers', {
    method: 'POST',
    user: 'alice',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: { title: 'Alice Private Payroll Server', url: app.peers.mcp.url } }),
  });
  t.is(created.status, 201);
  const { serverName } = (await created.json()) as { serverName: string };
  t.is(serverName, 'alice-private-payroll-server');

  for (const name of [serverName, 'files']) {
    const r = await app.call(`/api/mcp/${name}/reinitialize`, { method: 'POST', user: 'alice' });
    t.like(await r.json(), { success: true, oauthRequired: true }, name);
  }

  const metrics = await (await app.call('/metrics')).text();
  t.regex(metrics, /flow_engine_flows_started_total\{server="\(user-managed\)"\} 1/);
  t.regex(metrics, /flow_engine_flows_started_total\{server="files"\} 1/);
  t.false(metrics.includes(serverName), 'the private server name is not on the public page');
});
