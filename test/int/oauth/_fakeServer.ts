import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: IncomingMessage, res: ServerResponse, base: string) => void;

/** A tiny loopback HTTP server with path routes (404 elsewhere) and a request log. */
export async function fakeServer(routes: Record<string, Route | object>): Promise<{ base: string; hits: string[]; stop(): Promise<void> }> {
  const hits: string[] = [];
  let base = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', base).pathname;
    hits.push(`${req.method} ${path}`);
    const route = routes[path];
    if (route === undefined) {
      res.statusCode = 404;
      res.end('{}');
    } else if (typeof route === 'function') {
      (route as Route)(req, res, base);
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(route).replaceAll('BASE', base));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** PRM + RFC 8414 metadata for a fake MCP server that is its own AS; `as` overrides fields. */
export function fakeAsRoutes(as: Record<string, unknown> = {}, prm: Record<string, unknown> = {}): Record<string, object> {
  return {
    '/.well-known/oauth-protected-resource/mcp': { resource: 'BASE/mcp', authorization_servers: ['BASE'], ...prm },
    '/.well-known/oauth-authorization-server': {
      issuer: 'BASE',
      authorization_endpoint: 'BASE/authorize',
      token_endpoint: 'BASE/token',
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      ...as,
    },
  };
}
