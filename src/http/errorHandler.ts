import type { Context, Next } from 'koa';
import { ErrorCode, isEngineError } from '../errors.js';
import type { Logger } from '../flow/deps.js';
import { codeOfHttpStatus, statusOf } from './errorStatus.js';

/** The JSON body of every API error: a stable `code` for programs, a sentence for people. */
export interface ErrorBody {
  error: string;
  message: string;
}

/**
 * The one error handler. Engine errors map by code ({@link statusOf}); 4xx errors raised by
 * Koa, the router or koa-body (oversized or malformed bodies, bad percent-encoding) keep
 * their status with a stable code; anything else is a 500 whose details go to the log only.
 * Bodies never carry a stack, and a 5xx message never carries internal text.
 */
export function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      const { status, body } = toResponse(err);
      if (status >= 500) logger.error({ err: describe(err), requestId: ctx.state.requestId, path: ctx.path }, 'request failed');
      else logger.debug({ code: body.error, requestId: ctx.state.requestId, path: ctx.path }, 'request rejected');
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = body;
    }
  };
}

export function toResponse(err: unknown): { status: number; body: ErrorBody } {
  if (isEngineError(err)) {
    const status = statusOf(err.code);
    return { status, body: { error: err.code, message: status === 500 ? 'Internal error' : err.message } };
  }
  if (err instanceof URIError) return { status: 400, body: { error: ErrorCode.INVALID_ARGUMENT, message: 'Malformed percent-encoding in the URL' } };
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) {
    const expose = (err as { expose?: boolean }).expose === true;
    const message = expose && typeof (err as Error).message === 'string' ? (err as Error).message.slice(0, 200) : 'Bad request';
    return { status, body: { error: codeOfHttpStatus(status), message } };
  }
  return { status: 500, body: { error: ErrorCode.INTERNAL, message: 'Internal error' } };
}

function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && Number.isInteger(s) ? s : undefined;
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { name: err.name, message: err.message, ...(isEngineError(err) ? { code: err.code } : {}), stack: err.stack };
  return { value: String(err) };
}
