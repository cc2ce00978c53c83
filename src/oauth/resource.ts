/**
 * The canonical MCP server URI used as the RFC 8707 `resource` when no protected-resource
 * metadata names one: lowercase scheme and host (the URL parser does that), no fragment, no
 * trailing slash (so `https://mcp.example.com/` becomes `https://mcp.example.com`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#canonical-server-uri
 */
export function canonicalResourceUri(serverUrl: string | URL): string {
  const url = new URL(serverUrl);
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
