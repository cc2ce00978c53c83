import type { SnapshotFrom } from 'xstate';
import { flowMachine, initialFlowContext, type FlowContext, type FlowMachineEvent } from './machine.js';

type Snapshot = SnapshotFrom<typeof flowMachine>;
type Args = { context: FlowContext; event: FlowMachineEvent };

/** One transition of the flow machine, as its definition states it. */
interface Step {
  guard: ((args: Args) => boolean) | null;
  /** The target state, or null for a transition that stays (context update only). */
  target: string | null;
  assign: ((args: Args) => Partial<FlowContext>) | null;
}

/** The machine's transitions by state and event type, and a snapshot per state to copy. */
export interface FlowSteps {
  steps: ReadonlyMap<string, ReadonlyMap<string, Step>>;
  templates: ReadonlyMap<string, Snapshot>;
}

class Unsupported extends Error {}
const unsupported = (what: string): never => {
  throw new Unsupported(what);
};

// The parts of xstate's state nodes and transition definitions read here.
interface NodeLike {
  key: string;
  type: string;
  states: Record<string, NodeLike>;
  entry: unknown[];
  exit: unknown[];
  invoke: unknown[];
  after: unknown[];
  always?: unknown[];
  transitions: Map<string, TransitionLike[]>;
}
interface TransitionLike {
  eventType: string;
  guard?: unknown;
  target?: NodeLike[];
  actions: Array<{ type?: string; assignment?: unknown }>;
  reenter: boolean;
}

function guardOf(guard: unknown, guards: Record<string, unknown>): Step['guard'] {
  if (guard === undefined) return null;
  const resolved = typeof guard === 'string' ? guards[guard] : guard;
  if (typeof resolved !== 'function' || 'check' in resolved) return unsupported('guard that is not a plain predicate');
  return resolved as (args: Args) => boolean;
}

function assignOf(actions: TransitionLike['actions']): Step['assign'] {
  if (actions.length === 0) return null;
  const [action] = actions;
  if (actions.length !== 1 || action!.type !== 'xstate.assign' || typeof action!.assignment !== 'function') return unsupported('action other than one assign(fn)');
  return action!.assignment as (args: Args) => Partial<FlowContext>;
}

/**
 * Reads the flow machine's own definition (its state nodes' transitions, as xstate built
 * them) into a table, or returns null when the machine uses anything beyond what
 * {@link stepFlowSnapshot} reproduces: nested or parallel states, entry/exit actions,
 * eventless or delayed transitions, invocations, wildcard events, several candidates for one
 * event, re-entering transitions, actions other than a single `assign` with a function, or
 * guards other than plain predicates. Null means "fold through xstate", so a later change to
 * the machine can only make folding slower, never different.
 */
export function compileFlowSteps(machine = flowMachine): FlowSteps | null {
  try {
    const root = machine.root as unknown as NodeLike;
    const guards = (machine.implementations.guards ?? {}) as Record<string, unknown>;
    const bare = (n: NodeLike) =>
      n.entry.length === 0 && n.exit.length === 0 && n.invoke.length === 0 && n.after.length === 0 && (n.always ?? []).length === 0;
    if (!bare(root) || root.transitions.size > 0 || root.type !== 'compound') unsupported('root');
    const steps = new Map<string, Map<string, Step>>();
    const templates = new Map<string, Snapshot>();
    for (const node of Object.values(root.states)) {
      if (!bare(node) || Object.keys(node.states).length > 0 || (node.type !== 'atomic' && node.type !== 'final')) unsupported(`state ${node.key}`);
      const byType = new Map<string, Step>();
      for (const [type, candidates] of node.transitions) {
        if (candidates.length !== 1 || type.includes('*') || type.startsWith('xstate.')) unsupported(`event ${type}`);
        const t = candidates[0]!;
        if (t.eventType !== type || t.reenter) unsupported(`transition ${type}`);
        if (t.target !== undefined && (t.target.length !== 1 || root.states[t.target[0]!.key] !== t.target[0])) unsupported(`target of ${type}`);
        const step: Step = { guard: guardOf(t.guard, guards), target: t.target ? t.target[0]!.key : null, assign: assignOf(t.actions) };
        if (step.target === null && step.assign === null) unsupported(`transition ${type} that changes nothing`);
        byType.set(type, step);
      }
      steps.set(node.key, byType);
      templates.set(node.key, machine.resolveState({ value: node.key, context: initialFlowContext }) as Snapshot);
    }
    return { steps, templates };
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

/**
 * One event folded with the table: the same selection, guard and assignment xstate's
 * `transition()` makes for this machine, without its general machinery (microsteps, entry
 * and exit sets, eventless checks), which cost ~12 KB of garbage per event and a visible share
 * of every request. Returns the same snapshot when no transition is taken, like xstate.
 */
export function stepFlowSnapshot(table: FlowSteps, snapshot: Snapshot, event: FlowMachineEvent): Snapshot {
  if (snapshot.status !== 'active') return snapshot;
  const step = table.steps.get(snapshot.value as string)?.get(event.type);
  if (step === undefined) return snapshot;
  const args: Args = { context: snapshot.context, event };
  if (step.guard !== null && !step.guard(args)) return snapshot;
  const context = step.assign === null ? snapshot.context : { ...snapshot.context, ...step.assign(args) };
  return { ...table.templates.get(step.target ?? (snapshot.value as string))!, context };
}
