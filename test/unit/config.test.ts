import { writeFile } from 'node:fs/promises';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { EngineError } from '../../src/errors.js';
import { tempFile } from '../support/tempFile.js';

test('an MCP_SERVERS client_metadata_url without a path stops start-up naming the key', async (t) => {
  const key = 'MCP_SERVERS.payroll.oauth.client_metadata_url';
  for (const url of ['https://cimd.example.com', 'https://cimd.example.com/']) {
    const file = await tempFile(t, 'servers.json');
    await writeFile(file, JSON.stringify({ payroll: { url: 'https://mcp.example.com/mcp', oauth: { client_metadata_url: url } } }));
    const err = t.throws(() => loadConfig({ MCP_SERVERS: file }), { instanceOf: EngineError });
    t.is(err!.code, 'config_invalid');
    t.is(err!.details?.key, key, url);
    t.true(err!.message.startsWith(`${key}: `), err!.message);
  }
  const file = await tempFile(t, 'servers.json');
  await writeFile(file, JSON.stringify({ payroll: { url: 'https://mcp.example.com/mcp', oauth: { client_metadata_url: 'https://cimd.example.com/client.json' } } }));
  t.is(loadConfig({ MCP_SERVERS: file }).servers.payroll?.oauth?.client_metadata_url, 'https://cimd.example.com/client.json');
});
