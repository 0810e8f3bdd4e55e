// Drives the real @actions/cache in its own process, as the action will be run:
//   node cache-client.mjs '{"op":"save","paths":["dir"],"key":"k"}'
//   node cache-client.mjs '{"op":"restore","paths":["dir"],"key":"k","restoreKeys":["k-"]}'
// The library logs to stdout (`::warning::…` and friends); the outcome is the last line, after
// RESULT_MARK. `type` tells `undefined` (a miss) from a value, which JSON cannot carry.
import * as cache from '@actions/cache'
import { performance } from 'node:perf_hooks'
import { setTimeout } from 'node:timers'

const RESULT_MARK = '@@cache-client-result '
// Something left open after the call (a keep-alive socket, a timer) would keep the process alive;
// exit code 3 reports that instead of hanging the caller.
const LINGER_MS = 15_000

const spec = JSON.parse(process.argv[2] ?? '{}')
const started = performance.now()
let outcome
try {
  const result =
    spec.op === 'save'
      ? await cache.saveCache(spec.paths, spec.key, spec.options)
      : await cache.restoreCache(spec.paths, spec.key, spec.restoreKeys, spec.options)
  outcome = { ok: true, type: typeof result, result }
} catch (error) {
  outcome = { ok: false, error: { name: error?.name, message: error?.message ?? String(error) } }
}
outcome.ms = Math.round(performance.now() - started)
process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(outcome)}\n`)
setTimeout(() => process.exit(3), LINGER_MS).unref()
