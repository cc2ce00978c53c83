import type { z } from 'zod';
import { quote } from './errors.js';

/** Unknown keys named in a message; the rest are counted. */
const KEYS_SHOWN = 3;
/** Beyond this, a zod message is not one a person reads to fix a request. */
const MESSAGE_MAX = 200;

/**
 * A zod issue's complaint, fit for a 4xx message. zod's own text for unknown keys lists every
 * key raw (no escaping, no bound: a body of hundreds of keys made a 33 KB message carrying
 * its CR/LF and markup), so that one is built here from a few quoted keys and a count. zod's
 * other messages name only the schema's expectations, and the schemas' own refinements are
 * fixed sentences; they are capped all the same.
 */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message.slice(0, MESSAGE_MAX);
  const { keys } = issue;
  const shown = keys.slice(0, KEYS_SHOWN).map((k) => quote(k, 40)).join(', ');
  const more = keys.length > KEYS_SHOWN ? ` and ${keys.length - KEYS_SHOWN} more` : '';
  return `unknown key${keys.length === 1 ? '' : 's'} ${shown}${more}`;
}

/** `"<path>": <complaint>`, the path (which may hold the input's own keys) quoted and capped. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map((p) => String(p)).join('.') : 'body';
  return `${quote(where, 120)}: ${issueMessage(issue)}`;
}
