#!/usr/bin/env node
// Thin launcher so `npx flowctl` works without a build step.
import { register } from 'node:module';
register('tsx/esm', import.meta.url);
await import('../src/cli/main.ts');
