import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

/** Escapes text for an HTML text node or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.4rem; } code { background: #eef0f4; padding: 0 .25rem; border-radius: 3px; }
  .ok { color: #17753b; } .bad { color: #a8261d; } table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #dde1e8; }
  button { font: inherit; padding: .25rem .9rem; cursor: pointer; } .muted { color: #667; font-size: .9rem; }`;

/**
 * Sends a small HTML page under a strict Content-Security-Policy: nothing loads from anywhere,
 * inline style and script run only with this response's nonce, no framing, no form posts, no
 * referrer. `Cache-Control: no-store` because the pages follow a callback that carried a code.
 */
export function sendPage(ctx: Context, status: number, title: string, bodyHtml: string, script?: string, style: string = STYLE): void {
  const nonce = randomBytes(16).toString('base64');
  ctx.status = status;
  ctx.set('Content-Security-Policy', [
    "default-src 'none'", `style-src 'nonce-${nonce}'`, script ? `script-src 'nonce-${nonce}'` : "script-src 'none'",
    "connect-src 'self'", "img-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; '));
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style nonce="${nonce}">${style}</style></head>
<body>${bodyHtml}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}
