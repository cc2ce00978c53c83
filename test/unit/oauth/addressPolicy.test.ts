import test from 'ava';
import { isAllowedHost, isBlockedAddress, isLoopbackAddress } from '../../../src/oauth/index.js';

const blocked = [
  '0.0.0.0', '10.0.0.1', '100.64.0.1', '100.100.100.200', '127.0.0.1', '127.255.255.254', '169.254.169.254',
  '172.16.0.1', '172.31.255.255', '192.168.0.1', '198.18.0.1', '224.0.0.1', '255.255.255.255', '168.63.129.16',
  '::', '::1', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe',
  '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe', '[::1]', 'not-an-ip',
];
const open = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2001:4860:4860::8888'];

test('private, loopback, link-local, CGNAT, ULA, unspecified and metadata addresses are blocked', (t) => {
  for (const ip of blocked) t.true(isBlockedAddress(ip), ip);
});

test('public addresses, including IPv4-mapped public ones, are not blocked', (t) => {
  for (const ip of open) t.false(isBlockedAddress(ip), ip);
});

test('loopback is recognised in every spelling', (t) => {
  for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) t.true(isLoopbackAddress(ip), ip);
  for (const ip of ['10.0.0.1', '::2', 'localhost']) t.false(isLoopbackAddress(ip), ip);
});

test('allowed domains match exact hosts, *.suffix subdomains and optional ports', (t) => {
  const u = (s: string): URL => new URL(s);
  t.true(isAllowedHost(u('https://mcp.example.com/x'), ['mcp.example.com']));
  t.true(isAllowedHost(u('https://MCP.Example.com/x'), ['mcp.example.com']));
  t.false(isAllowedHost(u('https://evil-mcp.example.com/'), ['mcp.example.com']));
  t.true(isAllowedHost(u('https://a.b.example.com/'), ['*.example.com']));
  t.false(isAllowedHost(u('https://example.com/'), ['*.example.com']), 'the bare suffix is not a subdomain');
  t.false(isAllowedHost(u('https://notexample.com/'), ['*.example.com']));
  t.true(isAllowedHost(u('http://127.0.0.1:8080/'), ['127.0.0.1:8080']));
  t.false(isAllowedHost(u('http://127.0.0.1:8081/'), ['127.0.0.1:8080']));
  t.true(isAllowedHost(u('https://127.0.0.1/'), ['127.0.0.1:443']));
  t.true(isAllowedHost(u('http://[::1]:3000/'), ['[::1]:3000']));
  t.false(isAllowedHost(u('https://x.example/'), []));
});
