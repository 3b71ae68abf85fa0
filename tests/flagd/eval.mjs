// flagd's own evaluator, for the differential tests of `flagc export --format flagd` and
// `flagc import flagd` (flagc/cli/tests/flagd.rs runs it).
//
// Usage: node eval.mjs DOCUMENT.json CONTEXTS.jsonl
//
// 1. Validates the document with flagd-core's own schema validation (strict mode: the
//    JSON Schema of flag definitions and targeting rules) and builds every flag's targeting.
//    Any problem is printed to stderr and the exit status is 3.
// 2. Evaluates every flag of the document against every context (one JSON object a line),
//    with the resolver of the flag's type (from its variants), and prints one JSON line per
//    context: {"<flag>": {"value": …, "variant": …, "reason": …, "errorCode"?: …}, …}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { FlagdCore, MemoryStorage } = require('@openfeature/flagd-core');
const { version } = require('@openfeature/flagd-core/package.json');

const [docPath, contextsPath] = process.argv.slice(2);
if (!docPath || !contextsPath) {
  console.error('usage: node eval.mjs DOCUMENT.json CONTEXTS.jsonl');
  process.exit(2);
}

const problems = [];
const logger = {
  error: (...args) => problems.push(`error: ${args.join(' ')}`),
  warn: (...args) => problems.push(`warn: ${args.join(' ')}`),
  info: () => {},
  // FLAGD_HARNESS_DEBUG=1 shows flagd-core's debug messages (why a rule errs).
  debug: process.env.FLAGD_HARNESS_DEBUG ? (...args) => console.error('debug:', ...args) : () => {},
};

const text = readFileSync(docPath, 'utf8');

// Strict validation: flagd-core throws a ParseError listing the schema violations.
try {
  new MemoryStorage(logger).setConfigurations(text, true);
} catch (e) {
  console.error(`flagd-core ${version}: invalid flag definition: ${e.message}`);
  if (e.cause) console.error(`cause: ${e.cause.message ?? e.cause}`);
  process.exit(3);
}
if (problems.length > 0) {
  console.error(`flagd-core ${version}: ${problems.join('\n')}`);
  process.exit(3);
}

const core = new FlagdCore(undefined, logger);
core.setConfigurations(text);
const resolvers = [];
for (const [key, flag] of core.getFlags()) {
  const sample = flag.variants.get(flag.defaultVariant) ?? flag.variants.values().next().value;
  const type = typeof sample;
  const resolve =
    type === 'boolean'
      ? (ctx) => core.resolveBooleanEvaluation(key, false, ctx)
      : type === 'number'
        ? (ctx) => core.resolveNumberEvaluation(key, 0, ctx)
        : (ctx) => core.resolveStringEvaluation(key, '', ctx);
  resolvers.push([key, resolve]);
}

const out = [];
for (const line of readFileSync(contextsPath, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const ctx = JSON.parse(line);
  const results = {};
  for (const [key, resolve] of resolvers) {
    const r = resolve(ctx);
    results[key] = { value: r.value, variant: r.variant ?? null, reason: r.reason };
    if (r.errorCode) results[key].errorCode = r.errorCode;
  }
  out.push(JSON.stringify(results));
}
if (problems.length > 0) {
  console.error(`flagd-core ${version}: ${problems.join('\n')}`);
  process.exit(3);
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
