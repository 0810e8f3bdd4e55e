/**
 * The steps shared by the action and the CLI: read inputs, look at dist, plan, write the
 * Dockerfile; then (unless dockerfile-only) execute; then the outputs.
 */
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { OutputName } from './constants.js'
import { BuildResult, writePipConf } from './execute.js'
import { InputReader, Inputs, parseInputs } from './inputs.js'
import { BuildPlan, makePlan } from './plan.js'
import { InputError } from './validate.js'
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

export function prepare(read: InputReader, env: NodeJS.ProcessEnv, payload: object): Prepared {
  const inputs = parseInputs(read)
  const workspace = env['GITHUB_WORKSPACE'] || process.cwd()
  const distFiles = listDist(workspace, inputs.dist)
  if (inputs.requirements !== '' && !existsSync(join(workspace, inputs.requirements))) {
    throw new InputError(
      'requirements',
      inputs.requirements,
      'a requirements file that exists in the workspace'
    )
  }
  const runKey = randomBytes(6).toString('hex')
  const tempDir = mkdtempSync(join(env['RUNNER_TEMP'] || tmpdir(), 'wheel-slim-'))
  const plan = makePlan(
    inputs,
    workflowContext(env, payload),
    distFiles,
    { workspace, tempDir },
    runKey
  )
  writeFileSync(plan.dockerfilePath, plan.dockerfile)
  // BuildKit prefers <Dockerfile>.dockerignore over the workspace's: a .dockerignore that
  // excludes dist/ (common in Python repositories) must not hide the package from the build.
  writeFileSync(`${plan.dockerfilePath}.dockerignore`, '.git\nnode_modules\n.wheel-slim-cache\n')
  if (plan.common.pipConfFile) writePipConf(plan.common.pipConfFile, inputs.extraIndexUrl)
  return { inputs, plan, runKey }
}

export function outputsOf(p: Prepared, result?: BuildResult): Record<OutputName, string> {
  const { plan } = p
  const sum = (f: (r: BuildResult['platforms'][number]) => number): string =>
    result ? String(result.platforms.reduce((n, r) => n + f(r), 0)) : ''
  const outputs = {
    dockerfile: plan.dockerfilePath,
    tags: plan.slimTags.join('\n'),
    'base-tags': plan.baseTags.join('\n'),
    digest: result?.digest ?? '',
    'base-digest': result?.baseDigest ?? '',
    platforms: plan.platforms.join(','),
    'cache-hit': String(result?.cacheHit ?? false),
    'wheels-built': sum((r) => r.built.length),
    'wheels-reused': sum((r) => r.reused)
  }
  const metadata = {
    package: plan.package,
    pushed: result?.pushed ?? false,
    pushReason: plan.push.reason,
    ...outputs,
    tags: plan.slimTags,
    'base-tags': plan.baseTags,
    platforms: plan.platforms,
    builds: result?.platforms ?? [],
    moves: result?.moves ?? [],
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
