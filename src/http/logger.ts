import { pino, type Logger as PinoLogger } from 'pino';

/**
 * Keys pino censors at the top level and one object down. Belt and braces: the engine never
 * logs these on purpose, but a host or a future change might pass a request, a config or an
 * OAuth response. The OAuth `code` travels in query strings (censored whole: `query`,
 * `search`, `url`); a bare `code` key stays readable because it is the engine's error code.
 */
const REDACT = [
  'authorization', 'cookie', 'state', 'token', 'accessToken', 'refreshToken', 'idToken',
  'access_token', 'refresh_token', 'id_token', 'bindingSecret', 'codeVerifier', 'code_verifier',
  'clientSecret', 'client_secret', 'jwtSecret', 'encryptionKey', 'password', 'query', 'search',
  'url', 'authorizationUrl', 'oauthUrl', 'headers',
].flatMap((k) => [k, `*.${k}`]).concat(['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]']);

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

/** The process logger: JSON lines (pino), secrets censored by key. */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'flow-engine' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
