/**
 * The steps shared by the action and the CLI: read inputs, look at the workspace, plan, write
 * the build's files; then (unless dockerfile-only) execute; then the outputs.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cleanup } from './cleanup.js'
import { OutputName, TOOLS_CONTEXT, WHEEL_CACHE_CONTEXT } from './constants.js'
import { BuildResult, writePipConf, writeTools } from './execute.js'
import { InputReader, Inputs, Learned, parseInputs } from './inputs.js'
import { STAGE_NAMES } from './dockerfile.js'
import { imageLabels } from './registry.js'
import { readPackageInfo } from './package-info.js'
import { resolvePackage } from './package-meta.js'
import { BuildPlan, makePlan } from './plan.js'
import { fromImage, InputError } from './validate.js'
import { workflowContext } from './workflow.js'

export interface Prepared {
  inputs: Inputs
  plan: BuildPlan
  runKey: string
}

function listDist(workspace: string, dist: string): string[] {
  const dir = join(workspace, dist)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(
      'dist',
      dist,
      `a directory in the workspace (${workspace}) holding the package's sdist or wheel`
    )
  }
  return readdirSync(dir)
}

/**
 * The commit's time, so that a rebuild of the same commit gives the same image: the environment's
 * SOURCE_DATE_EPOCH, else git, else the pushed head commit's timestamp, else 0.
 */
function sourceDateEpoch(env: NodeJS.ProcessEnv, workspace: string, payload: object): string {
  const given = env['SOURCE_DATE_EPOCH']
  if (given && /^\d{1,12}$/.test(given)) return given
  try {
    const t = execFileSync('git', ['-C', workspace, 'log', '-1', '--format=%ct'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
    if (/^\d+$/.test(t)) return t
  } catch {
    // not a git checkout
  }
  const stamp = (payload as { head_commit?: { timestamp?: string } }).head_commit?.timestamp
  const ms = stamp ? Date.parse(stamp) : NaN
  return Number.isFinite(ms) ? String(Math.floor(ms / 1000)) : '0'
}

/**
 * A child without a python-version of its own takes its parent's, recorded on the parent's base
 * image: the child's wheels go FROM the parent, so their Pythons must be the same.
 */
async function learn(read: InputReader): Promise<Learned> {
  const parent = read('parent').trim()
  if (parent === '' || read('python-version').trim() !== '') return {}
  const ref = fromImage('parent', parent, STAGE_NAMES)
  const labels = await imageLabels(ref).catch((error: unknown) => {
    throw new InputError(
      'parent',
      parent,
      `a base image this action pushed, in a registry this runner can read (${error instanceof Error ? error.message : String(error)})`
    )
  })
  return { parentPythonVersion: labels['io.wheel-slim.python-version'] }
}

export async function prepare(
  read: InputReader,
  env: NodeJS.ProcessEnv,
  payload: object,
  cleanup: Cleanup
): Promise<Prepared> {
  const inputs = parseInputs(read, await learn(read))
  const workspace = env['GITHUB_WORKSPACE'] || process.cwd()
  const distFiles = listDist(workspace, inputs.dist)
  let requirementHashes = false
  if (inputs.requirements !== '') {
    const file = join(workspace, inputs.requirements)
    if (!existsSync(file)) {
      throw new InputError(
        'requirements',
        inputs.requirements,
        'a requirements file that exists in the workspace'
      )
    }
    requirementHashes = /(^|\s)--hash[=\s]/m.test(readFileSync(file, 'utf8'))
  }
  const runKey = randomBytes(6).toString('hex')
  const temp = env['RUNNER_TEMP'] || tmpdir()
  const facts = {
    distFiles,
    requirementHashes,
    sourceDateEpoch: sourceDateEpoch(env, workspace, payload),
    packageInfo: readPackageInfo(
      join(workspace, inputs.dist),
      resolvePackage(distFiles, inputs.dist, inputs.package, inputs.module).files
    )
  }
  try {
    const tempDir = mkdtempSync(join(temp, 'wheel-slim-'))
    cleanup.dir(tempDir)
    const ctx = workflowContext(env, payload)
    const plan = makePlan(inputs, ctx, facts, { workspace, tempDir }, runKey)
    writeFiles(plan, inputs)
    return { inputs, plan, runKey }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new Error(
        `The runner's temp directory ${temp} (RUNNER_TEMP) is full: the build's files cannot be written. Nothing was built, pushed or saved.`,
        { cause: error }
      )
    }
    throw error
  }
}

/** The run's own files, in its temp directory: Dockerfile, stage scripts, pip.conf. */
function writeFiles(plan: BuildPlan, inputs: Inputs): void {
  writeFileSync(plan.files.dockerfile, plan.dockerfile)
  // BuildKit prefers <Dockerfile>.dockerignore over the workspace's: a .dockerignore that
  // excludes dist/ (common in Python repositories) must not hide the package from the build.
  writeFileSync(`${plan.files.dockerfile}.dockerignore`, '.git\nnode_modules\n.wheel-slim-cache\n')
  writeTools(plan.files.tools)
  if (plan.files.pipConf) writePipConf(plan.files.pipConf, inputs.extraIndexUrl)
}

export function outputsOf(p: Prepared, result?: BuildResult): Record<OutputName, string> {
  const { plan } = p
  const sum = (f: (r: BuildResult['platforms'][number]) => number): string =>
    result ? String(result.platforms.reduce((n, r) => n + f(r), 0)) : ''
  const contexts = [`${TOOLS_CONTEXT}=${plan.files.tools}`]
  if (plan.files.wheelCache) contexts.push(`${WHEEL_CACHE_CONTEXT}=${plan.files.wheelCache}`)
  const outputs = {
    dockerfile: plan.files.dockerfile,
    'build-contexts': contexts.join('\n'),
    tags: plan.slimTags.join('\n'),
    'base-tags': plan.baseTags.join('\n'),
    digest: result?.digest ?? '',
    'base-digest': result?.baseDigest ?? '',
    platforms: plan.platforms.join(','),
    'cache-hit': String(result?.cacheHit ?? false),
    'wheels-built': sum((r) => r.built.length),
    'wheels-reused': sum((r) => r.reused.length)
  }
  const metadata = {
    package: {
      name: plan.package.name,
      version: plan.package.version,
      module: plan.package.module
    },
    pushed: result?.pushed ?? false,
    pushReason: plan.push.reason,
    cacheSaveReason: plan.cacheSave.reason,
    ...outputs,
    tags: plan.slimTags,
    'base-tags': plan.baseTags,
    platforms: plan.platforms,
    builds: result?.platforms ?? [],
    moves: result?.moves ?? [],
    timings: result?.timings,
    cache: {
      restored:
        result?.restored.map((r) => ({
          platform: r.platform,
          key: r.matchedKey,
          wheels: r.wheels.length
        })) ?? [],
      saved: result?.saved ?? []
    }
  }
  return { ...outputs, metadata: JSON.stringify(metadata) }
}
