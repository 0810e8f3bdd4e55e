// A pure-Python app on one compiled dependency (wsa-service, an sdist on the e2e index), both
// platforms, with the wheel cache on a local Actions cache service: the cold run compiles the
// dependency on each target; after the build cache is wiped, the same commit runs again with the
// wheel cache restored — every wheel is found on the build host, nothing runs emulated, and the
// images come out byte for byte the same, so no tag moves. The pushed image is then checked for
// what installing on the build host must get right: console scripts, bytecode, install location.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { startCacheService, type CacheService } from './support/cache-service.js'
import { docker, runImage } from './support/docker.js'
import { buildFixtureDist } from './support/fixtures.js'
import { IMPOSTOR, type Indexes, startIndexes } from './support/index.js'
import { getManifest, layerBlobs, listTags, REGISTRY } from './support/registry.js'
import { type ActionRun, pushEvent, runAction, WORK_DIR } from './support/runner.js'

const BOTH = ['linux/amd64', 'linux/arm/v7']
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }
const RUNTIME = `${REGISTRY}/python:3.11-slim`
const IMAGE = `${REGISTRY}/e2e-speed-${randomBytes(4).toString('hex')}/app`
const SHA = randomBytes(20).toString('hex')
const TAGS = ['edge', `sha-${SHA.slice(0, 7)}`]

interface Build {
  platform: string
  path: string
  reason: string
  built: string[]
  reused: string[]
  steps: { compile?: { seconds?: number } }
}
interface Metadata {
  builds: Build[]
  moves: { ref: string; from?: string; to: string }[]
  cache: {
    restored: { platform: string; key?: string }[]
    saved: { platform: string; key?: string }[]
  }
}
const meta = (run: ActionRun): Metadata => JSON.parse(run.outputs.metadata ?? '{}') as Metadata

let indexes: Indexes
let svc: CacheService
const scratch: string[] = []

async function run(name: string): Promise<ActionRun> {
  const ws = path.join(await mkdtemp(path.join(WORK_DIR, 'speed-')), 'workspace')
  scratch.push(path.dirname(ws))
  await buildFixtureDist('app', path.join(ws, 'dist'))
  const result = await runAction({
    name,
    workspace: ws,
    inputs: {
      image: IMAGE,
      'python-version': '3.11',
      'builder-image': `${REGISTRY}/python:3.11`,
      'runtime-image': RUNTIME,
      platforms: BOTH.join(','),
      'cache-key': `wsa-speed-${SHA.slice(0, 8)}`,
      ...indexes.inputs
    },
    event: pushEvent('refs/heads/main', SHA, 'main'),
    ref: 'refs/heads/main',
    sha: SHA,
    env: svc.env
  })
  if (result.exitCode !== 0) {
    throw new Error(`${name} failed: ${result.errors.join('\n')}\nlog: ${result.logFile}`)
  }
  return result
}

/**
 * What a compile step printed: nothing when it only checked that resolve found every wheel. Step
 * numbers count anew in each buildx call of the log; a step's label names the bake target before
 * the platform when one call builds several targets.
 */
async function compileOutput(run: ActionRun, platform: string): Promise<string[]> {
  const calls = (await readFile(run.logFile, 'utf8'))
    .split(/^\[command\]\S*docker buildx /m)
    .slice(1)
  const label = new RegExp(`^#(\\d+) \\[(?:\\S+ )?${platform} compile \\d+/\\d+\\] RUN`, 'gm')
  const steps = calls.map((text) => [...text.matchAll(label)].map((m) => m[1]))
  expect(steps.flat()).not.toEqual([])
  return calls.flatMap((text, i) =>
    text
      .split('\n')
      .filter((l) => steps[i]?.some((id) => new RegExp(`^#${id} \\d+\\.\\d+ `).test(l)))
  )
}

let cold: ActionRun
let warm: ActionRun

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  indexes = await startIndexes(['service'], ['app'])
  svc = await startCacheService()
  cold = await run('speed-cold')
  // A fresh build cache, as on a new runner: only the wheel cache carries over.
  await docker(['buildx', 'prune', '--all', '--force'])
  warm = await run('speed-warm')
}, 30 * 60_000)

afterAll(async () => {
  await indexes?.stop()
  await svc?.stop()
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
})

describe('an app on a compiled dependency: cold, then warm on a fresh build cache', () => {
  test("cold: the dependency is compiled on each target, from the build host's pins (pip resolves nothing there), and saved to the wheel cache", async () => {
    for (const b of meta(cold).builds) {
      expect({ platform: b.platform, path: b.path }).toEqual({
        platform: b.platform,
        path: 'target'
      })
      expect(b.built).toEqual(
        expect.arrayContaining([expect.stringMatching(/^wsa_service-1\.0\.0-cp311-cp311-linux_/)])
      )
      const said = (await compileOutput(cold, b.platform)).map((l) =>
        l.replace(/^#\d+ [\d.]+ /, '')
      )
      expect(said).toContain("wheel-slim: compile: the build host's pins, side by side")
    }
    expect(meta(cold).cache.saved.map((s) => s.key !== undefined)).toEqual([true, true])
  })

  test('warm: every wheel found on the build host; the targets run nothing but a shell test', async () => {
    expect(warm.outputs['cache-hit']).toBe('true')
    for (const b of meta(warm).builds) {
      expect({ platform: b.platform, path: b.path, reason: b.reason }).toEqual({
        platform: b.platform,
        path: 'build host',
        reason: ''
      })
      expect(b.reused).toEqual([expect.stringMatching(/^wsa_service-1\.0\.0-cp311-cp311-linux_/)])
      expect(b.built).toEqual(['wsa_app-2.0.0-py3-none-any.whl'])
      expect(await compileOutput(warm, b.platform)).toEqual([])
      // Every pinned wheel was in the restored wheel cache or dist/: resolve ran no pip download.
      expect(await readFile(warm.logFile, 'utf8')).toContain(
        `wheel-slim: resolve ${b.platform} every pin at hand, no download`
      )
    }
    // Nothing new to save.
    expect(meta(warm).cache.saved.filter((s) => s.key !== undefined)).toEqual([])
  })

  test('the rebuild of the same commit pushes the same digests: no tag moves', async () => {
    expect(warm.outputs.digest).toBe(cold.outputs.digest)
    expect(warm.outputs['base-digest']).toBe(cold.outputs['base-digest'])
    for (const m of meta(warm).moves)
      expect({ ref: m.ref, same: m.from === m.to }).toEqual({ ref: m.ref, same: true })
    const repo = IMAGE.slice(REGISTRY.length + 1)
    expect(await listTags(repo)).toEqual([...TAGS, ...TAGS.map((t) => `${t}-base`)].sort())
    expect((await getManifest(`${IMAGE}:edge`)).digest).toBe(cold.outputs.digest)
  })

  test.each(BOTH)(
    '%s: console script, module, bytecode and install location are right; one layer of files added',
    async (platform) => {
      const ref = `${IMAGE}:edge`
      const expected = `wsa-app 2.0.0 ok 42 ${MACHINE[platform]}\n`
      expect((await runImage(ref, platform)).stdout).toBe(expected)
      const script = await runImage(ref, platform, [], { entrypoint: 'wsa-app' })
      expect(script.stdout).toBe(expected)
      expect(script.stdout).not.toContain(IMPOSTOR)
      // The bytecode records the source's time and size (timestamp pyc), so Python uses it as is;
      // the package sits in the runtime image's own site-packages; the script's shebang is its
      // python; RECORD (what pip uninstall removes) names every file where it is, the script too.
      const check = [
        'import importlib.metadata, importlib.util, os, shutil, struct, sys, sysconfig, wsa_app',
        'src = wsa_app.__file__',
        "flags, mtime, size = struct.unpack('<4xIII', open(importlib.util.cache_from_source(src), 'rb').read(16))",
        'st = os.stat(src)',
        'print(flags == 0 and mtime == int(st.st_mtime) and size == st.st_size)',
        "print(os.path.dirname(os.path.dirname(src)) == sysconfig.get_path('purelib'))",
        "print(open(shutil.which('wsa-app')).readline().strip() == '#!' + sys.executable)",
        "recorded = [os.path.realpath(f.locate()) for f in importlib.metadata.distribution('wsa-app').files]",
        "print(all(os.path.isfile(f) for f in recorded) and os.path.realpath(shutil.which('wsa-app')) in recorded)"
      ].join('\n')
      const probe = await runImage(ref, platform, ['-c', check], { entrypoint: 'python3' })
      expect(probe.stdout).toBe('True\nTrue\nTrue\nTrue\n')
      // One layer of files, after the empty one the runtime packages step leaves when it installs nothing.
      const layers = await layerBlobs(ref, platform)
      const added = layers.slice((await layerBlobs(RUNTIME, platform)).length)
      expect(added.map((l) => l.size > 32)).toEqual([false, true])
    }
  )
})
