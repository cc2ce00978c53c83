import { discardClient } from '../clients/registry.js';
import { foldRegistration } from '../clients/fold.js';
import type { Engine } from '../engine.js';
import { handleCommand, readDomainEvents } from '../flow/commandHandler.js';
import { decideFlow } from '../flow/decide.js';
import { foldFlow } from '../flow/evolve.js';
import type { CommandContext } from '../flow/newEvent.js';
import { clientStream, flowStream } from '../flow/streams.js';
import type { ProjectedServer } from './projectionState.js';

/**
 * What a change to a server does to the flow engine's other streams. Each step is its own
 * command with its own expected revision (claims, not locks), idempotent, so a retried or
 * concurrent cleanup appends nothing twice.
 */

/**
 * Ends every user's pending attempt at this server (`FlowSuperseded`, or `FlowExpired` when
 * its time is up): those attempts were discovered and authorised against the old URL or OAuth
 * options. Finished attempts are left alone (the machine refuses the event).
 */
export async function supersedePending(engine: Engine, server: ProjectedServer, by: string, ctx: CommandContext): Promise<number> {
  let ended = 0;
  for (const { flowId } of Object.values(server.users)) {
    if (!flowId) continue;
    const r = await handleCommand(engine.deps.store, flowStream(flowId), foldFlow, (flow) =>
      // 'new': the attempt's own stream is not written yet; nothing to end.
      flow.value === 'new' ? [] : decideFlow({ type: 'EndReplacedFlow', by }, flow, ctx));
    if (r.appended.length) ended++;
  }
  return ended;
}

/**
 * Makes the client registrations made for this server unusable
 * (`ClientRegistrationDiscarded`, reason `server_changed`): they belong to the old
 * authorization server (or were registered with the old options), and the next attempt must
 * register afresh.
 */
export async function discardRegistrations(engine: Engine, server: ProjectedServer, ctx: CommandContext): Promise<number> {
  let discarded = 0;
  for (const regKey of Object.keys(server.registrations)) {
    const reg = foldRegistration(await readDomainEvents(engine.deps.store, clientStream(regKey)));
    if (reg.status !== 'registered' || !reg.registered) continue;
    if (await discardClient(engine.deps, regKey, reg.registered.clientId, 'server_changed', ctx)) discarded++;
  }
  return discarded;
}

/** Revokes the grant of every user connected to this server (RFC 7009 at the AS, then `GrantRevoked`). */
export async function revokeGrants(engine: Engine, server: ProjectedServer, correlationId: string, reason: string): Promise<number> {
  let revoked = 0;
  for (const { userId, grant } of Object.values(server.users)) {
    if (!grant) continue;
    const r = await engine.disconnect({ userId, serverName: server.serverName, correlationId, reason });
    if (r.revoked) revoked++;
  }
  return revoked;
}
