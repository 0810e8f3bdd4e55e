/**
 * Carries out a BuildPlan on the real engine, in this order: QEMU → builder → per-platform
 * build + smoke test → (only if all passed) push base, push slim → read digests.
 * Nothing reaches the registry before every platform's smoke test passed; tags move last.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as core from '@actions/core'
import {
  buildArgv,
  BuildCommon,
  BuildRequest,
  chooseBuilder,
  createBuilderArgv,
  parseBuilderInfo
} from './buildx.js'
import { docker } from './docker.js'
import { BuildPlan } from './plan.js'
import { ensureQemu } from './qemu.js'

/** What the action must undo afterwards (post step, or the CLI on exit). */
export interface Cleanup {
  builder?: string
  localImages: string[]
}

export interface SmokeResult {
  platform: string
  buildSeconds: number
  output: string
}

export interface TagMove {
  ref: string
  from?: string
  to: string
}

export interface BuildResult {
  smoke: SmokeResult[]
  pushed: boolean
  digest: string
  baseDigest: string
  moves: TagMove[]
}

const seconds = (since: number): number => Math.round((Date.now() - since) / 100) / 10

async function selectBuilder(
  plan: BuildPlan,
  runKey: string,
  cleanup: Cleanup
): Promise<string | undefined> {
  const inspect = await docker(['buildx', 'inspect', '--bootstrap'], { silent: true })
  const info = parseBuilderInfo(inspect.stdout)
  const dockerInfo = await docker(['info', '--format', '{{json .DriverStatus}}'], {
    silent: true,
    allowFailure: true
  })
  const containerd = dockerInfo.stdout.includes('io.containerd.snapshotter')
  const choice = chooseBuilder(info, plan.platforms, containerd)
  if (choice.use === 'current') {
    core.info(
      `buildx: using builder "${info.name}" (driver ${info.driver}; ${info.platforms.join(', ')})`
    )
    return undefined
  }
  const name = `wheel-slim-${runKey}`
  core.info(`buildx: ${choice.reason}; creating a docker-container builder "${name}"`)
  await docker(createBuilderArgv(name))
  cleanup.builder = name
  return name
}

function digestOf(metadataFile: string): string {
  const meta = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, unknown>
  return String(meta['containerimage.digest'] ?? '')
}

/** The digest a tag points to now, or undefined when it does not exist yet. */
async function currentDigest(ref: string): Promise<string | undefined> {
  const r = await docker(
    ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}'],
    {
      silent: true,
      allowFailure: true
    }
  )
  if (r.exitCode !== 0) return undefined
  return (JSON.parse(r.stdout) as { digest?: string }).digest
}

async function build(common: BuildCommon, request: BuildRequest): Promise<void> {
  await docker(buildArgv(common, request))
}

export async function execute(
  plan: BuildPlan,
  qemuImage: string,
  runKey: string,
  cleanup: Cleanup
): Promise<BuildResult> {
  await core.group('Set up QEMU and buildx', async () => {
    await ensureQemu(plan.platforms, qemuImage)
    plan.common.builder = await selectBuilder(plan, runKey, cleanup)
  })
  if (plan.common.wheelCacheDir) mkdirSync(plan.common.wheelCacheDir, { recursive: true })

  const smoke: SmokeResult[] = []
  for (const s of plan.smokeBuilds) {
    const result = await core.group(`Build and smoke-test ${s.platform}`, async () => {
      const started = Date.now()
      cleanup.localImages.push(s.image)
      await build(plan.common, s.request)
      const buildSeconds = seconds(started)
      const run = await docker(
        [
          'run',
          '--rm',
          '--platform',
          s.platform,
          '--entrypoint',
          '/bin/sh',
          s.image,
          '-c',
          plan.smokeTest
        ],
        { allowFailure: true }
      )
      if (run.exitCode !== 0) {
        throw new Error(
          `Smoke test failed on ${s.platform} (exit ${run.exitCode}): ${plan.smokeTest}\n` +
            `${(run.stderr || run.stdout).trim().split('\n').slice(-10).join('\n')}\nNothing was pushed.`
        )
      }
      return { platform: s.platform, buildSeconds, output: run.stdout.trim() }
    })
    smoke.push(result)
  }

  if (!plan.push.push) {
    core.info(`Not pushing: ${plan.push.reason}.`)
    return { smoke, pushed: false, digest: '', baseDigest: '', moves: [] }
  }

  return core.group('Push the base and slim images', async () => {
    const refs = [...plan.baseTags, ...plan.slimTags]
    const before = new Map<string, string | undefined>()
    for (const ref of refs) before.set(ref, await currentDigest(ref))
    await build(plan.common, plan.baseBuild)
    await build(plan.common, plan.runtimeBuild)
    const baseDigest = digestOf(plan.baseBuild.metadataFile)
    const digest = digestOf(plan.runtimeBuild.metadataFile)
    const moves = refs.map((ref) => ({
      ref,
      from: before.get(ref),
      to: plan.baseTags.includes(ref) ? baseDigest : digest
    }))
    for (const m of moves) {
      core.info(
        m.from === undefined
          ? `tag created: ${m.ref} → ${m.to}`
          : m.from === m.to
            ? `tag unchanged: ${m.ref} (${m.to})`
            : `tag moved: ${m.ref} ${m.from} → ${m.to}`
      )
    }
    return { smoke, pushed: true, digest, baseDigest, moves }
  })
}

/** pip.conf carrying extra-index-url: passed as a build secret, never in a layer or the log. */
export function writePipConf(file: string, extraIndexUrl: string): void {
  writeFileSync(file, `[global]\nextra-index-url = ${extraIndexUrl}\n`, { mode: 0o600 })
}

export async function runCleanup(cleanup: Cleanup): Promise<void> {
  if (cleanup.localImages.length > 0) {
    await docker(['image', 'rm', '--force', ...cleanup.localImages], {
      allowFailure: true,
      silent: true
    })
  }
  if (cleanup.builder) await docker(['buildx', 'rm', cleanup.builder], { allowFailure: true })
}
