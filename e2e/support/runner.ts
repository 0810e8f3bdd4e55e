// Runs a JavaScript action the way the GitHub Actions runner does: a separate node process per
// step, INPUT_* from action.yml, file commands, then the post step with STATE_* from main.
import { spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, rmSync, symlinkSync, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { dockerBin } from './docker.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Scratch space of the e2e suite (gitignored): logs, per-run runner files. */
export const WORK_DIR = path.join(REPO_ROOT, 'e2e', '.work')

export interface RunActionOptions {
  /** Step `with:` values, by the names action.yml declares. */
  inputs: Record<string, string>
  workspace: string
  /** Default: a push to `ref`. */
  event?: { name: string; payload: object }
  /** Default refs/heads/main. */
  ref?: string
  sha?: string
  /** Step `env:`; applied last, so it can override anything the runner sets. */
  env?: Record<string, string>
  /** Run the post step when the action declares one and post-if allows it. Default true. */
  post?: boolean
  /** Directory holding action.yml. Default: the repo root (runs the bundled dist/). */
  actionDir?: string
  /** Label for the log file. Default: the running jest test's name. */
  name?: string
  /** Kill a step that runs longer (the runner's timeout-minutes). Default 25 min. */
  timeoutMs?: number
  /** Cancel main as the runner does (a signal) once its output matches `when`. */
  cancel?: { when: RegExp; signal: NodeJS.Signals }
}

export interface StepRun {
  exitCode: number
  stdout: string
  stderr: string
}

export interface ActionRun extends StepRun {
  outputs: Record<string, string>
  state: Record<string, string>
  /** Main's step summary followed by post's. */
  summary: string
  post?: StepRun
  /** Main failed (exit code != 0). */
  failed: boolean
  /** Messages of `::error ...::` / `::warning ...::` commands, main then post, unescaped. */
  errors: string[]
  warnings: string[]
  /** What main wrote to GITHUB_ENV / GITHUB_PATH (applied to the post step, as the runner does). */
  exportedEnv: Record<string, string>
  addedPath: string[]
  runnerTemp: string
  logFile: string
}

interface ActionYaml {
  inputs?: Record<string, { default?: unknown } | null>
  runs?: {
    using?: string
    main?: string
    pre?: string
    post?: string
    'post-if'?: string
  }
}

export async function runAction(opts: RunActionOptions): Promise<ActionRun> {
  const actionDir = path.resolve(opts.actionDir ?? REPO_ROOT)
  const meta = parseYaml(await readFile(path.join(actionDir, 'action.yml'), 'utf8')) as ActionYaml
  const runs = meta.runs ?? {}
  if (!/^node\d+$/.test(runs.using ?? '') || !runs.main) {
    throw new Error(`${actionDir}/action.yml: runs.using must be nodeNN with a runs.main`)
  }
  if (runs.pre) throw new Error('runs.pre is not supported by this harness')
  const declared = Object.keys(meta.inputs ?? {})
  const unknown = Object.keys(opts.inputs).filter((k) => !declared.includes(k))
  if (unknown.length) {
    throw new Error(
      `Input(s) ${unknown.join(', ')} not declared in action.yml (declared: ${declared.join(', ')})`
    )
  }

  const label = (opts.name ?? currentTestName() ?? path.basename(actionDir))
    .replace(/[^\w.-]+/g, '_')
    .slice(0, 80)
  await mkdir(path.join(WORK_DIR, 'runs'), { recursive: true })
  const runDir = await mkdtemp(path.join(WORK_DIR, 'runs', `${label}-`))
  const runnerTemp = path.join(runDir, 'temp')
  await mkdir(runnerTemp, { recursive: true })

  const ref = opts.ref ?? 'refs/heads/main'
  const sha = opts.sha ?? '0123456789abcdef0123456789abcdef01234567'
  const event = opts.event ?? pushEvent(ref, sha)
  const eventPath = path.join(runDir, 'event.json')
  await writeFile(eventPath, JSON.stringify(event.payload, null, 2))

  const github = githubEnv(opts.workspace, ref, sha, event, eventPath, runnerTemp)
  const inputs = inputEnv(meta, opts.inputs, github)
  const base: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    PATH: pathWithWorkingDocker(process.env.PATH ?? ''),
    ...github,
    ...inputs,
    ...opts.env
  }
  const logFile = path.join(WORK_DIR, 'logs', `${stamp()}-${label}.log`)
  await mkdir(path.dirname(logFile), { recursive: true })
  const log = createWriteStream(logFile)
  log.write(`# ${actionDir}\n# inputs: ${JSON.stringify(inputs)}\n`)

  try {
    const main = await runStep('main', path.join(actionDir, runs.main), base, runDir, opts, log)
    const outputs = parseFileCommand(main.files.GITHUB_OUTPUT, 'GITHUB_OUTPUT')
    const state = parseFileCommand(main.files.GITHUB_STATE, 'GITHUB_STATE')
    const exportedEnv = parseFileCommand(main.files.GITHUB_ENV, 'GITHUB_ENV')
    delete exportedEnv.NODE_OPTIONS // the runner refuses this one
    const addedPath = main.files.GITHUB_PATH.split(/\r?\n/).filter(Boolean)
    let summary = main.files.GITHUB_STEP_SUMMARY
    const failed = main.exitCode !== 0

    let post: StepRun | undefined
    if (runs.post && opts.post !== false && postIfAllows(runs['post-if'] ?? 'always()', !failed)) {
      const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]))
      // Later-added GITHUB_PATH entries come first, as the runner prepends them.
      const postPath = [...addedPath]
        .reverse()
        .concat(base.PATH ?? '')
        .join(path.delimiter)
      const env = {
        ...base,
        ...exportedEnv,
        ...opts.env,
        PATH: postPath,
        ...stateEnv
      }
      const step = await runStep('post', path.join(actionDir, runs.post), env, runDir, opts, log)
      summary += step.files.GITHUB_STEP_SUMMARY
      post = {
        exitCode: step.exitCode,
        stdout: step.stdout,
        stderr: step.stderr
      }
    }

    const all = [main, ...(post ? [post] : [])]
    return {
      exitCode: main.exitCode,
      stdout: main.stdout,
      stderr: main.stderr,
      outputs,
      state,
      summary,
      post,
      failed,
      errors: all.flatMap((s) => commands(s, 'error')),
      warnings: all.flatMap((s) => commands(s, 'warning')),
      exportedEnv,
      addedPath,
      runnerTemp,
      logFile
    }
  } finally {
    await new Promise((resolve) => log.end(resolve))
  }
}

/**
 * Parses a file command (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV) exactly as the runner does:
 * `name=value` lines and `name<<DELIM` heredocs; a later value of a name wins.
 */
export function parseFileCommand(text: string, file = 'file command'): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      if (eq === 0) throw new Error(`${file}: invalid line '${line}': name must not be empty`)
      result[line.slice(0, eq)] = line.slice(eq + 1)
    } else if (heredoc > 0 && heredoc + 2 < line.length) {
      const delimiter = line.slice(heredoc + 2)
      const end = lines.indexOf(delimiter, i + 1)
      if (end < 0) throw new Error(`${file}: matching delimiter '${delimiter}' not found`)
      result[line.slice(0, heredoc)] = lines.slice(i + 1, end).join('\n')
      i = end
    } else {
      throw new Error(`${file}: invalid line '${line}'`)
    }
  }
  return result
}

/** post-if as the runner evaluates it for a post step: against the job status after main. */
function postIfAllows(condition: string, mainSucceeded: boolean): boolean {
  const expr = condition
    .replace(/^\s*\$\{\{(.*)\}\}\s*$/s, '$1')
    .replace(/\s+/g, ' ')
    .trim()
  const table: Record<string, boolean> = {
    'always()': true,
    'success()': mainSucceeded,
    'failure()': !mainSucceeded,
    'cancelled()': false,
    '!cancelled()': true,
    'success() || failure()': true
  }
  const value = table[expr]
  if (value === undefined) throw new Error(`post-if '${condition}' is not supported by the harness`)
  return value
}

/** INPUT_<NAME> for each declared input: name upper-cased, spaces → _, hyphens kept. */
function inputEnv(
  meta: ActionYaml,
  given: Record<string, string>,
  context: Record<string, string>
): Record<string, string> {
  const declared = meta.inputs ?? {}
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(declared)) {
    const fallback = spec?.default
    const value =
      given[name] ?? (fallback === undefined ? undefined : expand(String(fallback), context))
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  return env
}

/** The `${{ github.x }}` / `${{ runner.x }}` defaults actions commonly declare. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (whole, expr: string) => {
    if (expr === 'github.token') return env.GITHUB_TOKEN ?? ''
    const [scope, key] = expr.split('.')
    const name = scope === 'github' || scope === 'runner' ? `${scope}_${key}`.toUpperCase() : ''
    const found = env[name]
    if (found === undefined)
      throw new Error(`Input default ${whole} is not supported by the harness`)
    return found
  })
}

function githubEnv(
  workspace: string,
  ref: string,
  sha: string,
  event: { name: string; payload: object },
  eventPath: string,
  runnerTemp: string
): Record<string, string> {
  const payload = event.payload as {
    pull_request?: { head?: { ref?: string }; base?: { ref?: string } }
  }
  const pr = event.name.startsWith('pull_request') ? payload.pull_request : undefined
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: ref,
    GITHUB_REF_NAME: ref.replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    GITHUB_HEAD_REF: pr?.head?.ref ?? '',
    GITHUB_BASE_REF: pr?.base?.ref ?? '',
    GITHUB_SHA: sha,
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_RUN_ID: '1000001',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_TRIGGERING_ACTOR: 'octocat',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_WORKFLOW: 'build',
    GITHUB_JOB: 'image',
    GITHUB_ACTION: '__self',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'e2e',
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(WORK_DIR, 'toolcache')
  }
}

/**
 * A push of `ref` at `sha` to acme/app, as the runner writes the event. With `defaultBranch`, a
 * push to that branch is tagged `edge`; without it, with the branch's own name.
 */
export function pushEvent(
  ref: string,
  sha: string,
  defaultBranch?: string
): { name: string; payload: object } {
  return {
    name: 'push',
    payload: {
      ref,
      after: sha,
      repository: {
        name: 'app',
        full_name: 'acme/app',
        ...(defaultBranch ? { default_branch: defaultBranch } : {}),
        owner: { login: 'acme' }
      }
    }
  }
}

/** This process's environment minus anything a runner step would not inherit from it. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    // NODE_OPTIONS carries jest's --experimental-vm-modules; the rest may leak from a real job.
    if (/^(INPUT_|STATE_|GITHUB_|RUNNER_|ACTIONS_)/.test(key) || key === 'NODE_OPTIONS') {
      delete env[key]
    }
  }
  return env
}

/** Puts the docker client that reaches the engine first on PATH, as a runner image would. */
function pathWithWorkingDocker(current: string): string {
  let bin: string
  try {
    bin = dockerBin()
  } catch {
    return current // no engine: actions that need none still run
  }
  const shim = path.join(WORK_DIR, 'bin')
  mkdirSync(shim, { recursive: true })
  rmSync(path.join(shim, 'docker'), { force: true })
  symlinkSync(bin, path.join(shim, 'docker'))
  return `${shim}${path.delimiter}${current}`
}

const FILE_COMMANDS = [
  'GITHUB_OUTPUT',
  'GITHUB_STATE',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_STEP_SUMMARY'
] as const
type FileCommand = (typeof FILE_COMMANDS)[number]

async function runStep(
  phase: 'main' | 'post',
  script: string,
  env: NodeJS.ProcessEnv,
  runDir: string,
  opts: RunActionOptions,
  log: WriteStream
): Promise<StepRun & { files: Record<FileCommand, string> }> {
  // Fresh, empty file-command files per step, like the runner's _runner_file_commands.
  const dir = path.join(runDir, phase)
  await mkdir(dir)
  const paths = Object.fromEntries(FILE_COMMANDS.map((f) => [f, path.join(dir, f.toLowerCase())]))
  for (const file of Object.values(paths)) await writeFile(file, '')

  log.write(`\n## ${phase}: node ${script}\n`)
  const child = spawn(process.execPath, [script], {
    cwd: opts.workspace,
    env: { ...env, ...paths },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  let sent = false
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    into.push(chunk)
    log.write(chunk)
    const cancel = phase === 'main' ? opts.cancel : undefined
    if (cancel && !sent && cancel.when.test(Buffer.concat(into).toString())) {
      sent = true
      log.write(`\n## harness: sending ${cancel.signal}\n`)
      child.kill(cancel.signal)
    }
  }
  child.stdout.on('data', collect(out))
  child.stderr.on('data', collect(err))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 25 * 60_000)
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  }).finally(() => clearTimeout(timer))
  log.write(`\n## ${phase} exited ${exitCode}\n`)

  const files = {} as Record<FileCommand, string>
  for (const f of FILE_COMMANDS) files[f] = await readFile(paths[f] ?? '', 'utf8')
  return {
    exitCode,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    files
  }
}

/** Workflow commands of one kind; the runner reads them from stdout and stderr alike. */
function commands(step: StepRun, kind: 'error' | 'warning'): string[] {
  const re = new RegExp(`^::${kind}(?: [^:]*)?::(.*)$`)
  return `${step.stdout}\n${step.stderr}`
    .split(/\r?\n/)
    .flatMap((line) => {
      const m = re.exec(line)
      return m ? [m[1] ?? ''] : []
    })
    .map((msg) => msg.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** Jest's injected `expect` knows the running test; absent outside jest. */
function currentTestName(): string | undefined {
  const jestExpect = (globalThis as { expect?: { getState(): { currentTestName?: string } } })
    .expect
  return jestExpect?.getState().currentTestName
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-')
}
