/**
 * Carries out a BuildPlan on the real engine, in this order: QEMU → builder → wheel cache
 * restore → per-platform build + smoke test → wheels export → (only if every smoke test
 * passed) push base, push slim → wheel cache save. Tags move last; a failure saves nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import * as core from '@actions/core'
import { parseWheelStep } from './build-log.js'
import {
  buildArgv,
  BuildRequest,
  chooseBuilder,
  createBuilderArgv,
  parseBuilderInfo
} from './buildx.js'
import { docker } from './docker.js'
import { BuildPlan } from './plan.js'
import { ensureQemu } from './qemu.js'
import { parseRef } from './validate.js'
import {
  cacheKeys,
  exportedWheels,
  Restored,
  restoreWheels,
  Saved,
  saveWheels
} from './wheel-cache.js'

/** What the action must undo afterwards (post step, or the CLI on exit). */
export interface Cleanup {
  builder?: string
  localImages: string[]
}

export interface PlatformResult {
  platform: string
  buildSeconds: number
  /** Seconds of the `pip wheel` step (0 when the layer cache skipped it). */
  wheelSeconds?: number
  built: string[]
  reused: number
  /** Uncompressed size of the loaded slim image. */
  slimBytes: number
  /** Compressed layers of the pushed slim and base images: what a pull downloads. */
  pushedSlimBytes?: number
  pushedBaseBytes?: number
  smokeOutput: string
}

export interface TagMove {
  ref: string
  from?: string
  to: string
}

export interface BuildResult {
  platforms: PlatformResult[]
  pushed: boolean
  digest: string
  baseDigest: string
  moves: TagMove[]
  cacheHit: boolean
  restored: Restored[]
  saved: Saved[]
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
  // ensureQemu has just checked that this host runs every platform.
  const containerd = dockerInfo.stdout.includes('io.containerd.snapshotter')
  const choice = chooseBuilder(info, plan.platforms, containerd, plan.platforms)
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
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { digest?: string }).digest : undefined
}

/** The builder's Python ABI (e.g. "cpython-311 "): part of the wheel cache fingerprint. */
async function probeAbi(image: string): Promise<string> {
  const r = await docker(
    [
      'run',
      '--rm',
      '--entrypoint',
      'python3',
      image,
      '-c',
      'import sys; print(sys.implementation.cache_tag, sys.abiflags)'
    ],
    { silent: true }
  )
  return r.stdout.trim()
}

async function build(plan: BuildPlan, request: BuildRequest): Promise<string> {
  return (await docker(buildArgv(plan.common, request))).stderr
}

async function smokeTest(plan: BuildPlan, platform: string, image: string): Promise<string> {
  const run = await docker(
    ['run', '--rm', '--platform', platform, '--entrypoint', '/bin/sh', image, '-c', plan.smokeTest],
    {
      allowFailure: true
    }
  )
  if (run.exitCode !== 0) {
    const tail = (run.stderr || run.stdout).trim().split('\n').slice(-10).join('\n')
    throw new Error(
      `Smoke test failed on ${platform} (exit ${run.exitCode}): ${plan.smokeTest}\n${tail}\nNothing was pushed.`
    )
  }
  return run.stdout.trim()
}

/**
 * Point `ref` at `digest` (an index already in the registry) and check it took: a registry
 * operation, no build. Also repairs a tag that a racing second push left on one platform's
 * manifest (seen with the docker driver, whose daemon pushes again after BuildKit).
 */
async function pointTag(ref: string, source: string, digest: string): Promise<void> {
  if ((await currentDigest(ref)) !== digest) {
    await docker(['buildx', 'imagetools', 'create', '--tag', ref, `${source}@${digest}`])
  }
  const now = await currentDigest(ref)
  if (now !== digest)
    throw new Error(`Tag ${ref} points to ${now ?? 'nothing'}, expected ${digest}`)
}

const repositoryOf = (ref: string): string => parseRef(ref)?.repository ?? ref

/** Compressed layer bytes per platform of a pushed image or index. */
async function pushedSizes(ref: string | undefined): Promise<Map<string, number>> {
  const sizes = new Map<string, number>()
  if (!ref) return sizes
  interface Raw {
    layers?: { size: number }[]
    manifests?: {
      digest: string
      platform?: { os: string; architecture: string; variant?: string }
    }[]
  }
  const raw = async (r: string): Promise<Raw> =>
    JSON.parse(
      (await docker(['buildx', 'imagetools', 'inspect', r, '--raw'], { silent: true })).stdout
    ) as Raw
  const sum = (m: Raw): number => (m.layers ?? []).reduce((n, l) => n + l.size, 0)
  const top = await raw(ref)
  const repository = repositoryOf(ref)
  for (const d of top.manifests ?? []) {
    const p = d.platform
    if (!p || p.os === 'unknown') continue
    const name = [p.os, p.architecture, p.variant].filter(Boolean).join('/')
    sizes.set(name, sum(await raw(`${repository}@${d.digest}`)))
  }
  // A single-platform push is a lone manifest.
  if (!top.manifests) sizes.set('', sum(top))
  return sizes
}

async function push(
  plan: BuildPlan
): Promise<Pick<BuildResult, 'digest' | 'baseDigest' | 'moves'>> {
  const refs = [...plan.baseTags, ...plan.slimTags]
  const before = new Map<string, string | undefined>()
  for (const ref of refs) before.set(ref, await currentDigest(ref))
  await build(plan, plan.baseBuild)
  await build(plan, plan.runtimeBuild)
  const baseDigest = digestOf(plan.baseBuild.metadataFile)
  const digest = digestOf(plan.runtimeBuild.metadataFile)
  const [firstBase, firstSlim] = [plan.baseTags[0] as string, plan.slimTags[0] as string]
  const moves: TagMove[] = []
  for (const ref of refs) {
    const isBase = plan.baseTags.includes(ref)
    const to = isBase ? baseDigest : digest
    await pointTag(ref, repositoryOf(isBase ? firstBase : firstSlim), to)
    moves.push({ ref, from: before.get(ref), to })
  }
  for (const m of moves) {
    if (m.from === undefined) core.info(`tag created: ${m.ref} → ${m.to}`)
    else if (m.from === m.to) core.info(`tag unchanged: ${m.ref} (${m.to})`)
    else core.info(`tag moved: ${m.ref} ${m.from} → ${m.to}`)
  }
  return { digest, baseDigest, moves }
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

  const cacheDir = plan.common.wheelCacheDir
  let restored: Restored[] = []
  if (cacheDir && plan.cache) {
    const { prefix, fingerprint } = plan.cache
    restored = await core.group('Restore the wheel cache', async () => {
      const abi = await probeAbi(plan.spec.baseFrom)
      const keys = plan.platforms.map((p) => cacheKeys(prefix, p, { ...fingerprint, abi }))
      return restoreWheels(keys, cacheDir)
    })
  }

  const results: PlatformResult[] = []
  for (const s of plan.smokeBuilds) {
    const result = await core.group(`Build and smoke-test ${s.platform}`, async () => {
      const started = Date.now()
      cleanup.localImages.push(s.image)
      const step = parseWheelStep(await build(plan, s.request))
      const buildSeconds = seconds(started)
      const smokeOutput = await smokeTest(plan, s.platform, s.image)
      const size = await docker(['image', 'inspect', '--format', '{{.Size}}', s.image], {
        silent: true
      })
      return {
        platform: s.platform,
        buildSeconds,
        wheelSeconds: step.seconds,
        built: step.built,
        reused: 0,
        slimBytes: Number(size.stdout.trim()),
        smokeOutput
      }
    })
    results.push(result)
  }

  const exported = await core.group('Export the wheel directory', async () => {
    await build(plan, plan.wheelsBuild)
    return new Map(
      plan.platforms.map((p) => [p, exportedWheels(plan.wheelsDir, p, plan.platforms)])
    )
  })
  for (const r of results)
    r.reused = Math.max(0, (exported.get(r.platform)?.length ?? 0) - r.built.length)

  let pushed: Pick<BuildResult, 'digest' | 'baseDigest' | 'moves'> = {
    digest: '',
    baseDigest: '',
    moves: []
  }
  if (plan.push.push) {
    pushed = await core.group('Push the base and slim images', () => push(plan))
    const [slim, base] = [await pushedSizes(plan.slimTags[0]), await pushedSizes(plan.baseTags[0])]
    for (const r of results) {
      r.pushedSlimBytes = slim.get(r.platform) ?? slim.get('')
      r.pushedBaseBytes = base.get(r.platform) ?? base.get('')
    }
  } else core.info(`Not pushing: ${plan.push.reason}.`)

  const saved = plan.cache
    ? await core.group('Save the wheel cache', () =>
        saveWheels(restored, exported, plan.package.name)
      )
    : []
  const cacheHit =
    restored.length > 0 &&
    restored.every((r) => r.matchedKey?.startsWith(`${r.keys.primary}-`) === true)
  return { platforms: results, pushed: plan.push.push, ...pushed, cacheHit, restored, saved }
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
