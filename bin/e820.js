#!/usr/bin/env node
// Runs the TypeScript CLI straight from the checkout: tsx compiles on the fly, so there is
// no build step between `npm install` and `npx e820`.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
