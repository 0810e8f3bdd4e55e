// The world around the action failing, each case the README's troubleshooting table names: a
// registry that dies mid-release, errs once, wants a login or is not there; an engine without a
// daemon, without (a new enough) buildx, without QEMU; a full temp directory; a parent that does
// not fit; a runtime image without apt-get. Real engine and registry, a fault-injecting proxy
// where a fault must be made. Each run must fail clearly and leave every tag where it was.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { startCacheService, type CacheService } from './support/cache-service.js'
import { docker, dockerBin } from './support/docker.js'
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js'
import { buildFixtureDist } from './support/fixtures.js'
import { getManifest, listTags, platformsOf, REGISTRY } from './support/registry.js'
import { type ActionRun, runAction, WORK_DIR } from './support/runner.js'

const NS = `e2e-faults-${randomBytes(4).toString('hex')}`
const BOTH = ['linux/amd64', 'linux/arm/v7']
let root: string
let ws: string
/** A workspace with the service at `version` in dist/ (a release tag must match it). */
const wsAt = async (version: string): Promise<string> => {
  const dir = path.join(root, `service-${version}`)
  if (!existsSync(dir)) await buildFixtureDist('service', path.join(dir, 'dist'), { version })
  return dir
}

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  root = await mkdtemp(path.join(WORK_DIR, 'faults-'))
  ws = await wsAt('1.0.0')
}, 10 * 60_000)

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function inputs(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image,
    'python-version': '3.11',
    'builder-image': `${REGISTRY}/python:3.11`,
    'runtime-image': `${REGISTRY}/python:3.11-slim`,
    'pip-args': '--no-index --no-build-isolation',
    cache: 'false',
    platforms: 'linux/amd64',
    ...extra
  }
}

/** A push of the tag v<version> (runAction's default event for a ref and sha). */
const release = (version: string, sha: string) => ({ ref: `refs/tags/v${version}`, sha })

async function tagDigests(repo: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const t of await listTags(repo))
    out[t] = (await getManifest(`${REGISTRY}/${repo}:${t}`)).digest
  return out
}

const failedWith = (run: ActionRun, pattern: RegExp): void => {
  expect(run.exitCode).not.toBe(0)
  expect(run.errors.join('\n')).toMatch(pattern)
}

describe('registry', () => {
  let proxy: FaultProxy
  // Retries a tenth of a second apart: the faults here are made, not waited out.
  const fast = { WHEEL_SLIM_REGISTRY_BACKOFF_MS: '100,200,300' }
  beforeAll(async () => {
    proxy = await startFaultProxy({ credentials: { user: 'u', password: 'p' } })
  })
  afterAll(async () => {
    await proxy?.stop()
  })

  test.each([
    ['a 500', { kind: 'status', status: 500 } as const],
    ['a reset connection', { kind: 'reset' } as const]
  ])(
    "dies with %s at a consumer tag's manifest PUT mid-release: every tag is old or complete; the rerun completes",
    async (_name, fault) => {
      const repo = `${NS}/dies-${fault.kind}`
      const image = `${proxy.host}/${repo}`
      proxy.setRules([])
      const first = await runAction({
        workspace: await wsAt('1.0.0'),
        inputs: inputs(image, { platforms: BOTH.join(',') }),
        ...release('1.0.0', 'a'.repeat(40))
      })
      expect(first.exitCode).toBe(0)
      const before = await tagDigests(repo)

      // 1.1.0's own tags and 1.1.0 itself go through; the registry dies at "1.1" (a late tag).
      proxy.setRules([{ method: 'PUT', path: /\/manifests\/1\.1$/, fault }])
      const sha = 'b'.repeat(40)
      const failed = await runAction({
        workspace: await wsAt('1.1.0'),
        inputs: inputs(image, { platforms: BOTH.join(',') }),
        ...release('1.1.0', sha),
        env: fast
      })
      // The error names the write that failed (the tags of an index go out in one imagetools call).
      // Go reports a reset as "connection reset" or, when it was still writing (about one in
      // thirteen here), "use of closed network connection".
      failedWith(
        failed,
        /manifests\/1\.1: 500 Internal Server Error|manifests\/1\.1": .*(connection reset|use of closed network connection)/
      )
      failedWith(failed, /Tags moved before the failure: /)
      // Both faults are what a registry behind a load balancer does now and then: tried again.
      expect(failed.stdout).toMatch(
        /Registry localhost:\d+: tag \S+ failed .*manifests\/1\.1.*; retrying in 0\.1 s/
      )
      const moved =
        /Tags moved before the failure: ([^;]*);/.exec(failed.errors.join('\n'))?.[1] ?? ''
      const after = await tagDigests(repo)
      for (const [tag, digest] of Object.entries(after)) {
        // Old, or a complete new index of both platforms: never a partial image.
        expect({
          tag,
          platforms: (await platformsOf(`${REGISTRY}/${repo}:${tag}`)).sort()
        }).toEqual({ tag, platforms: BOTH })
        // A tag that moved is named as moved; "1.1" itself never got there.
        if (before[tag] !== undefined && before[tag] !== digest) {
          expect(moved.split(', ')).toContain(`${image}:${tag}`)
        }
      }
      expect(after['1.1']).toBeUndefined()

      proxy.setRules([])
      const rerun = await runAction({
        workspace: await wsAt('1.1.0'),
        inputs: inputs(image, { platforms: BOTH.join(',') }),
        ...release('1.1.0', sha)
      })
      expect(rerun.exitCode).toBe(0)
      const now = await tagDigests(repo)
      for (const t of ['1.1.0', '1.1', '1', 'latest'])
        expect({ t, d: now[t] }).toEqual({ t, d: rerun.outputs.digest })
    }
  )

  test('a transient error on a read is retried, and the log says so; a permanent one is not', async () => {
    const repo = `${NS}/transient`
    const image = `${proxy.host}/${repo}`
    // The harness's push to main (no default branch in the payload) tags "main".
    proxy.setRules([
      { path: /\/manifests\/main$/, fault: { kind: 'status', status: 503 }, times: 2 }
    ])
    const ok = await runAction({ workspace: ws, inputs: inputs(image), env: fast })
    expect(ok.exitCode).toBe(0)
    expect(ok.stdout).toMatch(/Registry localhost:\d+: read .*:main failed .*; retrying in 0\.1 s/)

    proxy.setRules([{ path: /\/manifests\/main$/, fault: { kind: 'status', status: 400 } }])
    const bad = await runAction({ workspace: ws, inputs: inputs(image), env: fast })
    failedWith(bad, /could not read .*:main/)
    expect(bad.stdout).not.toMatch(/retrying/)
  })

  test('it wants a login the runner lacks: a clear error pointing to docker/login-action, before any registry write', async () => {
    const repo = `${NS}/login`
    proxy.setRules([{ path: /.*/, fault: { kind: 'auth' } }])
    const since = proxy.requests.length
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${proxy.host}/${repo}`),
      env: fast
    })
    failedWith(
      run,
      new RegExp(
        `Registry ${proxy.host}: authentication failed .*docker/login-action \\(registry: ${proxy.host}\\)`
      )
    )
    expect(
      proxy.requests.slice(since).filter((r) => r.method !== 'GET' && r.method !== 'HEAD')
    ).toEqual([])
    expect(await listTags(repo)).toEqual([])
    proxy.setRules([])
  })

  test('the registry cannot be reached at all: a clear error naming it', async () => {
    const run = await runAction({
      workspace: ws,
      inputs: inputs('localhost:1/nowhere/app'),
      env: fast
    })
    failedWith(run, /Registry localhost:1 cannot be reached/)
  })
})

describe('engine and host', () => {
  /** A `docker` in front of the real one that answers `buildx` as a broken installation would. */
  async function fakeDocker(name: string, buildx: string): Promise<string> {
    const dir = path.join(root, name)
    await mkdir(dir, { recursive: true })
    const real = dockerBin()
    await writeFile(
      path.join(dir, 'docker'),
      `#!/bin/sh\nif [ "$1" = buildx ]; then ${buildx}; fi\nexec ${real} "$@"\n`
    )
    await chmod(path.join(dir, 'docker'), 0o755)
    return `${dir}:${process.env.PATH}`
  }

  test('no Docker daemon: a clear error before any build', async () => {
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/nodaemon`),
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }
    })
    failedWith(run, /Docker: no daemon answers .*docker\/setup-docker-action/)
  })

  test('no buildx: a clear error pointing to docker/setup-buildx-action', async () => {
    const PATH = await fakeDocker(
      'no-buildx',
      `echo "docker: 'buildx' is not a docker command." >&2; exit 1`
    )
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/nobuildx`),
      env: { PATH }
    })
    failedWith(run, /Docker buildx is missing .*docker\/setup-buildx-action/)
  })

  test('a buildx too old: a clear error naming its version and the one needed', async () => {
    const PATH = await fakeDocker(
      'old-buildx',
      `[ "$2" = version ] && { echo "github.com/docker/buildx v0.9.1 ed00243"; exit 0; }`
    )
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/oldbuildx`),
      env: { PATH }
    })
    failedWith(run, /Docker buildx 0\.9\.1 is older than 0\.11.*docker\/setup-buildx-action/)
  })

  test('no QEMU handler for arm/v7 and none can be registered: a clear error before any build', async () => {
    const handler = '/proc/sys/fs/binfmt_misc/qemu-arm'
    expect(existsSync(handler)).toBe(true)
    await writeFile(handler, '0')
    try {
      const run = await runAction({
        workspace: ws,
        inputs: inputs(`${REGISTRY}/${NS}/noqemu`, {
          platforms: BOTH.join(','),
          'qemu-image': `${REGISTRY}/nothing/binfmt:none`
        })
      })
      failedWith(
        run,
        /QEMU: no binfmt handler for linux\/arm\/v7 \(qemu-arm\).*docker\/setup-qemu-action/s
      )
      expect(run.stdout).not.toMatch(/\[command\]docker buildx (bake|build)/)
    } finally {
      await writeFile(handler, '1')
    }
    expect((await readFile(handler, 'utf8')).startsWith('enabled')).toBe(true)
  })

  test("the runner's temp directory is full: a clear error, nothing saved, no tag moved", async () => {
    const temp = path.join(root, 'full-tmp')
    await mkdir(temp, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', temp])
    let svc: CacheService | undefined
    try {
      svc = await startCacheService()
      const repo = `${NS}/fulltmp`
      const run = await runAction({
        workspace: ws,
        inputs: inputs(`${REGISTRY}/${repo}`, { cache: 'true' }),
        env: { ...svc.env, RUNNER_TEMP: temp }
      })
      failedWith(run, /The runner's temp directory .* \(RUNNER_TEMP\) is full/)
      expect(svc.requests.filter((r) => r.path.endsWith('CreateCacheEntry'))).toEqual([])
      expect(await listTags(repo)).toEqual([])
    } finally {
      await svc?.stop()
      execFileSync('umount', [temp])
    }
  })
})

describe('parent and images', () => {
  let amd64Only: string
  let otherPython: string
  beforeAll(async () => {
    // Two base images this action could have pushed, each wrong in one way.
    const dir = path.join(root, 'parents')
    await mkdir(dir, { recursive: true })
    const labels = (python: string): string =>
      `LABEL io.wheel-slim.wheel-dir=/wheeley io.wheel-slim.python-version=${python}\n`
    await writeFile(
      path.join(dir, 'amd64.Dockerfile'),
      `FROM ${REGISTRY}/python:3.11\n${labels('3.11')}`
    )
    await writeFile(
      path.join(dir, 'py39.Dockerfile'),
      `FROM ${REGISTRY}/python:3.11\n${labels('3.9')}`
    )
    amd64Only = `${REGISTRY}/${NS}/parent-amd64:base`
    otherPython = `${REGISTRY}/${NS}/parent-py39:base`
    for (const [file, tag] of [
      ['amd64.Dockerfile', amd64Only],
      ['py39.Dockerfile', otherPython]
    ] as const) {
      await docker([
        'buildx',
        'build',
        '--platform',
        'linux/amd64',
        '--provenance=false',
        '--push',
        '-f',
        path.join(dir, file),
        '-t',
        tag,
        dir
      ])
    }
  }, 10 * 60_000)

  test.each([
    [
      'does not exist',
      () => `${REGISTRY}/${NS}/no-such-parent:base`,
      'linux/amd64',
      /exists; nothing is there/
    ],
    [
      'lacks a platform',
      () => amd64Only,
      'linux/amd64,linux/arm/v7',
      /holds linux\/amd64, linux\/arm\/v7; it holds linux\/amd64 \(missing linux\/arm\/v7\)/
    ],
    [
      'has no wheel directory',
      () => `${REGISTRY}/python:3.11`,
      'linux/amd64',
      /no io\.wheel-slim\.wheel-dir label, so no wheel directory/
    ],
    [
      'carries wheels for another Python',
      () => otherPython,
      'linux/amd64',
      /its wheels are for Python 3\.9/
    ]
  ])(
    'a parent that %s: a clear error naming parent, before any compile',
    async (_name, parent, platforms, pattern) => {
      const run = await runAction({
        workspace: ws,
        inputs: inputs(`${REGISTRY}/${NS}/child`, { parent: parent(), platforms })
      })
      failedWith(run, /Input "parent": /)
      failedWith(run, pattern)
      expect(run.stdout).not.toMatch(/Building wheel/)
    }
  )

  test('a runtime image without apt-get while runtime-packages is set: refused, naming both', async () => {
    const dir = path.join(root, 'noapt')
    await mkdir(dir, { recursive: true })
    const noApt = `${REGISTRY}/${NS}/noapt:slim`
    await writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${REGISTRY}/python:3.11-slim\nRUN rm /usr/bin/apt-get\n`
    )
    await docker([
      'buildx',
      'build',
      '--platform',
      'linux/amd64',
      '--provenance=false',
      '--push',
      '-t',
      noApt,
      dir
    ])
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/noapt-app`, {
        'runtime-image': noApt,
        'runtime-packages': 'libyaml-0-2'
      })
    })
    failedWith(
      run,
      new RegExp(
        `runtime-image ${noApt} has no apt-get, so runtime-packages \\(libyaml-0-2\\) cannot be installed on it`
      )
    )
  })
})
