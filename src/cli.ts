/**
 * wheel-slim: the action's core from a terminal.
 *   wheel-slim generate [--input value ...]   print the Dockerfile
 *   wheel-slim build    [--input value ...]   build, smoke-test, push; print the outputs as JSON
 * Flags are the action's input names. Git ref and sha come from GITHUB_* or from git.
 */
import { execFileSync } from 'node:child_process'
import { Cleanup, onCancel, runCleanup } from './cleanup.js'
import { INPUT_NAMES, InputName } from './constants.js'
import { stopAll } from './docker.js'
import { execute } from './execute.js'
import { outputsOf, prepare } from './pipeline.js'

const USAGE = `usage: wheel-slim <generate|build> [--<input> <value>]...
inputs: ${INPUT_NAMES.map((n) => `--${n}`).join(' ')}`

export function parseFlags(args: string[]): Map<InputName, string> {
  const flags = new Map<InputName, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg)
    const name = m?.[1] as InputName | undefined
    if (!m || !name || !INPUT_NAMES.includes(name))
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`)
    let value = m[2]
    if (value === undefined) {
      const next = args[i + 1]
      // A bare flag (e.g. --dockerfile-only) means true; "--no-index" is a value, not an input.
      const isFlag =
        next !== undefined &&
        INPUT_NAMES.some((n) => next === `--${n}` || next.startsWith(`--${n}=`))
      value = next === undefined || isFlag ? 'true' : (i++, next)
    }
    flags.set(name, value)
  }
  return flags
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return ''
  }
}

/** Outside Actions, describe the checkout as a push of its current branch. */
function localEnv(): NodeJS.ProcessEnv {
  if (process.env['GITHUB_REF']) return process.env
  const branch = git(['rev-parse', '--abbrev-ref', 'HEAD'])
  return {
    ...process.env,
    GITHUB_EVENT_NAME: process.env['GITHUB_EVENT_NAME'] ?? 'push',
    GITHUB_REF: branch && branch !== 'HEAD' ? `refs/heads/${branch}` : '',
    GITHUB_SHA: git(['rev-parse', 'HEAD'])
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command !== 'generate' && command !== 'build') {
    process.stderr.write(`${USAGE}\n`)
    return command === '--help' || command === '-h' ? 0 : 2
  }
  const flags = parseFlags(rest)
  if (command === 'generate') flags.set('dockerfile-only', 'true')
  const cleanup = new Cleanup()
  onCancel(
    stopAll,
    () => cleanup.state,
    (msg) => process.stderr.write(`wheel-slim: ${msg}\n`)
  )
  try {
    const prepared = await prepare((name) => flags.get(name) ?? '', localEnv(), {}, cleanup)
    if (command === 'generate') {
      process.stdout.write(prepared.plan.dockerfile)
      process.stderr.write(
        `build contexts: wheel-slim-tools=${prepared.plan.files.tools} (kept; the Dockerfile needs it)\n`
      )
      // The Dockerfile and its tools stay for the user; the pip.conf with a token does not.
      cleanup.state.dirs = prepared.plan.files.pipConf ? [prepared.plan.files.pipConf] : []
      return 0
    }
    const result = await execute(prepared.plan, prepared.inputs.qemuImage, prepared.runKey, cleanup)
    process.stdout.write(`${JSON.stringify(outputsOf(prepared, result), null, 2)}\n`)
    return 0
  } finally {
    await runCleanup(cleanup.state)
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`wheel-slim: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
