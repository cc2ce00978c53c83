import { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Engine } from '../engine.js';
import { EngineError, ErrorCode, quote } from '../errors.js';
import { principal, requireUser, type Authenticate } from './authenticate.js';
import { MCP_PREFIX } from './mcpRouter.js';
import { serverNameParam } from './params.js';

export interface GrantRouterOptions {
  authenticate: Authenticate;
}

/**
 * The grant routes under `/api/mcp`: disconnect (`DELETE /:serverName/oauth`: RFC 7009
 * revocation at the AS, `GrantRevoked`, the grant's data key shredded) and the user's tools
 * per server as last verified (`GET /tools`). Both need a principal; nobody sees another
 * user's grants.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export function createGrantRouter(engine: Engine, options: GrantRouterOptions): Router {
  const router = new Router({ prefix: MCP_PREFIX });
  const auth = requireUser(options.authenticate);

  async function knownServer(ctx: Context, userId: string): Promise<string> {
    const serverName = serverNameParam(ctx.params.serverName);
    if (!(await engine.hasServer(serverName, userId))) throw new EngineError(ErrorCode.UNKNOWN_SERVER, `Unknown MCP server ${quote(serverName, 80)}`);
    return serverName;
  }

  router.delete('/:serverName/oauth', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const serverName = await knownServer(ctx, userId);
    const result = await engine.disconnect({ userId, serverName, correlationId: ctx.state.requestId as string });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      success: true,
      serverName,
      revoked: result.revoked,
      ...(result.revokedAtAs ? { revokedAtAs: result.revokedAtAs } : {}),
      message: result.revoked ? `Disconnected from ${serverName}` : `No active grant for ${serverName}`,
    };
  });

  router.get('/tools', auth, async (ctx) => {
    const { userId } = principal(ctx);
    const listed = await engine.listTools(userId, await engine.listServers(userId));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { success: true, servers: listed };
  });

  return router;
}
