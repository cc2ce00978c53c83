import { createContext, Script } from 'node:vm';
import type { SliceOutcome } from './dispatcher.js';

/** One projection's share of a driver run: its guest loop and whether it has finished the batch. */
export interface SliceJob {
  /** The guest dispatcher's `run(sliceStart)` (a function of the projection's own context). */
  run: (sliceStart: number) => SliceOutcome;
  done: boolean;
}

/** Why a driver run returned before every job was done, and for which job. */
export type DriveResult =
  | { kind: 'done' }
  | { kind: 'yield' | 'slow'; job: number; cpuUsedMs: number }
  | { kind: 'error'; job: number; error: unknown; timedOut: boolean; cpuUsedMs: number };

/**
 * Runs in a context of its own holding no projection code: it only calls each projection's
 * guest loop in turn. Every job is handed the same slice start, so the whole run yields after
 * one time limit (plus one event), however many projections share it.
 */
const DRIVER_SOURCE = `(function (now, cpu) {
  'use strict';
  var state = { jobs: null, current: -1, cpuAtStart: 0, outcome: 'done', error: undefined };
  function drive() {
    var jobs = state.jobs, start = now(), readAt = start;
    state.error = undefined;
    state.cpuAtStart = cpu();
    for (var i = 0; i < jobs.length; i++) {
      var j = jobs[i];
      if (j.done) continue;
      state.current = i;
      /* Reading the CPU clock is a system call: re-read it only once the jobs before used more
         than a millisecond, so a job's CPU is over-counted by at most that much. */
      var t = now();
      if (t - readAt > 1) {
        state.cpuAtStart = cpu();
        readAt = t;
      }
      var out;
      try {
        out = j.run(start);
      } catch (err) {
        j.done = true;
        state.error = err;
        return (state.outcome = 'error');
      }
      if (out === 'done') j.done = true;
      else return (state.outcome = out);
    }
    state.current = -1;
    return (state.outcome = 'done');
  }
  return { state: state, drive: drive };
})`;

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Runs slices of jobs under one vm time limit each (see {@link createSliceDriver}). */
export type Drive = (jobs: SliceJob[], timeoutMs: number) => DriveResult;

/**
 * Runs the guest loops of several projections under one `runInContext({ timeout })`: the vm
 * time limit covers everything the script run calls, guest functions of other contexts
 * included, so one watchdog thread (started and joined per run) serves every projection of a
 * batch instead of one each. When the watchdog stops a run, the job that was running is the
 * one reported; the jobs before it finished, the ones after it have not started.
 */
export function createSliceDriver(): Drive {
  const context = createContext({}, { name: 'projector slice driver', codeGeneration: { strings: false, wasm: false } });
  const driver = new Script(DRIVER_SOURCE, { filename: 'projector-driver.js' }).runInContext(context) as (
    now: () => number,
    cpu: () => number,
  ) => { state: { jobs: SliceJob[] | null; current: number; cpuAtStart: number; error: unknown }; drive(): SliceOutcome | 'error' };
  const { state, drive } = driver(performance.now.bind(performance), cpuMicros);
  Object.defineProperty(context, 'driver', { value: drive, enumerable: false, writable: false, configurable: false });
  const script = new Script('driver()', { filename: 'projector-drive.js' });
  const usedMs = (): number => (cpuMicros() - state.cpuAtStart) / 1000;
  return (jobs, timeoutMs) => {
    state.jobs = jobs;
    state.current = -1;
    try {
      const outcome = script.runInContext(context, { timeout: timeoutMs }) as SliceOutcome | 'error';
      if (outcome === 'done') return { kind: 'done' };
      if (outcome === 'error') return { kind: 'error', job: state.current, error: state.error, timedOut: false, cpuUsedMs: usedMs() };
      return { kind: outcome, job: state.current, cpuUsedMs: usedMs() };
    } catch (err) {
      // The watchdog (or a host failure) ended the run inside job `current`.
      if (state.current < 0) throw err;
      jobs[state.current]!.done = true;
      const timedOut = (err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
      return { kind: 'error', job: state.current, error: err, timedOut, cpuUsedMs: usedMs() };
    } finally {
      state.jobs = null;
    }
  };
}
