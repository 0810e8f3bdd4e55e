// Trust, end to end: which events may push and save the wheel cache, what a push that fails
// halfway leaves behind, what a cancelled run cleans up, hash-pinned requirements, and the
// error a wrong module name gets. The bundled action on the real engine, registry (behind a
// fault-injecting proxy where a fault is made), index and cache service.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startCacheService, type CacheService } from './support/cache-service.js'
import { docker, runImage } from './support/docker.js'
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js'
import { buildFixtureDist } from './support/fixtures.js'
import { type Indexes, startIndexes } from './support/index.js'
import { getManifest, listTags, REGISTRY } from './support/registry.js'
import { type ActionRun, runAction, WORK_DIR } from './support/runner.js'

const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/'
const RUN_ID = randomBytes(4).toString('hex')
const NS = `e2e-trust-${RUN_ID}`
const REPO = 'acme/app'

let indexes: Indexes
let svc: CacheService
let root: string

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  root = await mkdtemp(path.join(WORK_DIR, 'trust-'))
  indexes = await startIndexes(['service'], ['service', 'derived'])
  svc = await startCacheService()
}, 10 * 60_000)

afterAll(async () => {
  await indexes?.stop()
  await svc?.stop()
  await rm(root, { recursive: true, force: true })
})

/** A workspace whose dist/ holds the derived sdist and the service sdist (a compiled dependency). */
async function workspace(
  name: string,
  fixtures: ('service' | 'derived')[] = ['derived', 'service']
): Promise<string> {
  const dir = path.join(root, name)
  for (const f of fixtures) await buildFixtureDist(f, path.join(dir, 'dist'))
  return dir
}

function inputs(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image,
    package: 'wsa-derived',
    'python-version': '3.11',
    'builder-image': `${REGISTRY}/python:3.11`,
    'runtime-image': `${REGISTRY}/python:3.11-slim`,
    platforms: 'linux/amd64',
    ...indexes.inputs,
    ...extra
  }
}

const calls = (method: string, since: number): number =>
  svc.requests.slice(since).filter((r) => r.path === TWIRP + method).length
const meta = (run: ActionRun): { pushed: boolean; pushReason: string } =>
  JSON.parse(run.outputs.metadata ?? '{}') as { pushed: boolean; pushReason: string }

function expectGreen(run: ActionRun): void {
  if (run.exitCode !== 0)
    throw new Error(`action failed: ${run.errors.join('\n')}\nlog: ${run.logFile}`)
}

const SHA = 'a'.repeat(40)
const fork = { full_name: 'mallory/app' }
const same = { full_name: REPO }
const pr = (head: object) => ({
  number: 7,
  head: { ref: 'feature', repo: head },
  base: { ref: 'main', repo: same }
})

/**
 * Events as the runner writes their payloads; `push: true` is asked for on every one, so that
 * only the trust decision can stop a push.
 */
const EVENTS: [string, string, object, string, boolean, RegExp][] = [
  // name, event, payload, ref, trusted, reason in the log
  [
    'fork pull_request',
    'pull_request',
    { pull_request: pr(fork) },
    'refs/pull/7/merge',
    false,
    /never pushes: pull_request from a fork/
  ],
  [
    'pull_request_target',
    'pull_request_target',
    { pull_request: pr(same) },
    'refs/heads/main',
    false,
    /never pushes: pull_request_target/
  ],
  [
    'workflow_run of a fork',
    'workflow_run',
    { workflow_run: { event: 'pull_request', head_repository: fork } },
    'refs/heads/main',
    false,
    /never pushes: workflow_run/
  ],
  [
    'issue_comment on a pull request',
    'issue_comment',
    { issue: { number: 7, pull_request: {} } },
    'refs/heads/main',
    false,
    /never pushes: issue_comment on a pull request/
  ],
  [
    'pull_request_review of a fork',
    'pull_request_review',
    { pull_request: pr(fork) },
    'refs/pull/7/merge',
    false,
    /never pushes: pull_request_review from a fork/
  ],
  [
    'same-repository pull_request',
    'pull_request',
    { pull_request: pr(same) },
    'refs/pull/7/merge',
    true,
    /push: true/
  ]
]

describe('events: an untrusted run never pushes (push: true included) and never saves the wheel cache', () => {
  let ws: string
  beforeAll(async () => {
    ws = await workspace('events')
  })

  test.each(EVENTS)('%s', async (name, event, payload, ref, trusted, reason) => {
    const image = `${REGISTRY}/${NS}/events-${event.replace(/_/g, '-')}-${trusted}`
    const since = svc.requests.length
    const run = await runAction({
      name: `event-${name}`,
      workspace: ws,
      inputs: inputs(image, {
        push: 'true',
        'cache-key': `wsa-trust-${RUN_ID}-${name.replace(/\W+/g, '-')}`
      }),
      event: {
        name: event,
        payload: { ...payload, repository: { ...same, default_branch: 'main' } }
      },
      ref,
      sha: SHA,
      env: svc.env
    })
    expectGreen(run)
    expect(meta(run).pushReason).toMatch(reason)
    expect(meta(run).pushed).toBe(trusted)
    expect((await listTags(`${NS}/events-${event.replace(/_/g, '-')}-${trusted}`)).length > 0).toBe(
      trusted
    )
    // The restore may read; only a trusted run writes.
    expect(calls('GetCacheEntryDownloadURL', since)).toBeGreaterThan(0)
    expect(calls('CreateCacheEntry', since)).toBe(trusted ? 1 : 0)
    if (!trusted) expect(`${run.stdout}`).toMatch(/Wheel cache not saved: /)
  })

  test('merge_group builds and tests, but pushes nothing by default', async () => {
    const image = `${REGISTRY}/${NS}/merge-group`
    const run = await runAction({
      workspace: ws,
      inputs: inputs(image, { cache: 'false' }),
      event: { name: 'merge_group', payload: { merge_group: { head_sha: SHA }, repository: same } },
      ref: 'refs/heads/gh-readonly-queue/main/pr-7-abc',
      sha: SHA
    })
    expectGreen(run)
    expect(meta(run).pushed).toBe(false)
    expect(meta(run).pushReason).toBe('push defaults to false on merge_group')
    expect(await listTags(`${NS}/merge-group`)).toEqual([])
  })
})

describe('a release whose push fails halfway: no consumer-facing tag moves; the next run completes', () => {
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await startFaultProxy()
  })
  afterAll(async () => {
    await proxy?.stop()
  })

  test('v1.0.0 pushed, v1.1.0 fails at its own tag: every 1.x, latest and base tag stays; rerun moves them', async () => {
    const wsAt = async (version: string): Promise<string> => {
      const dir = path.join(root, `release-${version}`)
      await buildFixtureDist('service', path.join(dir, 'dist'), { version })
      return dir
    }
    const repo = `${NS}/release`
    const image = `${proxy.host}/${repo}`
    const release = async (version: string, sha: string) =>
      runAction({
        name: `release-${version}`,
        workspace: await wsAt(version),
        inputs: inputs(image, {
          package: '',
          cache: 'false',
          platforms: 'linux/amd64,linux/arm/v7'
        }),
        event: {
          name: 'push',
          payload: { ref: `refs/tags/v${version}`, after: sha, repository: same }
        },
        ref: `refs/tags/v${version}`,
        sha
      })
    const first = await release('1.0.0', 'b'.repeat(40))
    expectGreen(first)
    const tagsOf = async (): Promise<Record<string, string>> => {
      const out: Record<string, string> = {}
      for (const t of await listTags(repo))
        out[t] = (await getManifest(`${REGISTRY}/${repo}:${t}`)).digest
      return out
    }
    const before = await tagsOf()
    expect(Object.keys(before).sort()).toEqual(
      ['1.0.0', '1.0', '1', 'latest', `sha-${'b'.repeat(7)}`]
        .flatMap((t) => [t, `${t}-base`])
        .sort()
    )

    // The registry dies at the slim image's run-specific tag: the base twin got there first.
    const sha = 'c'.repeat(40)
    proxy.setRules([
      {
        method: 'PUT',
        path: new RegExp(`/manifests/sha-${'c'.repeat(7)}$`),
        fault: { kind: 'status', status: 500 }
      }
    ])
    const failed = await release('1.1.0', sha)
    expect(failed.exitCode).not.toBe(0)
    expect(failed.errors.join('\n')).toMatch(/500 Internal Server Error/)
    expect(proxy.requests.some((r) => r.fault === 'status 500')).toBe(true)
    const after = await tagsOf()
    for (const [tag, digest] of Object.entries(before))
      expect({ tag, digest: after[tag] }).toEqual({ tag, digest })
    // Only the run's own tags may exist now; no 1.1 tag at all.
    expect(
      Object.keys(after)
        .filter((t) => !(t in before))
        .sort()
    ).toEqual([`sha-${'c'.repeat(7)}-base`])

    proxy.setRules([])
    const rerun = await release('1.1.0', sha)
    expectGreen(rerun)
    const now = await tagsOf()
    for (const t of ['1.1.0', '1.1', '1', 'latest']) {
      expect({ t, digest: now[t] }).toEqual({ t, digest: rerun.outputs.digest })
      expect({ t, digest: now[`${t}-base`] }).toEqual({ t, digest: rerun.outputs['base-digest'] })
    }
    expect(now['1.0.0']).toBe(before['1.0.0'])
  })
})

describe('cancel: SIGINT mid-build', () => {
  test('stops, cleans up (images, temp files with pip.conf), moves no tag, saves nothing', async () => {
    const ws = await workspace('cancel')
    const repo = `${NS}/cancel`
    const since = svc.requests.length
    const run = await runAction({
      workspace: ws,
      // A cache key of its own and no layer cache for the compile step: the build takes a while.
      inputs: inputs(`${REGISTRY}/${repo}`, {
        'cache-key': `wsa-trust-cancel-${RUN_ID}`,
        'no-cache-filters': 'own,resolve,compile',
        platforms: 'linux/amd64,linux/arm/v7'
      }),
      event: { name: 'push', payload: { ref: 'refs/heads/main', after: SHA, repository: same } },
      env: svc.env,
      cancel: { when: /compile 3\/3\] RUN/, signal: 'SIGINT' }
    })
    expect(run.exitCode).not.toBe(0)
    expect(`${run.stdout}`).toMatch(/Cancelled by SIGINT/)
    const state = JSON.parse(run.state.cleanup ?? '{}') as {
      localImages?: string[]
      dirs?: string[]
    }
    // Recorded before the build started: the temp dir (Dockerfile, pip.conf) and the local images.
    expect(state.dirs?.length).toBeGreaterThan(0)
    expect(state.localImages?.length).toBeGreaterThan(0)
    expect(run.post?.exitCode).toBe(0)
    for (const dir of state.dirs ?? [])
      expect({ dir, exists: existsSync(dir) }).toEqual({ dir, exists: false })
    const images = (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    for (const image of state.localImages ?? []) expect(images.split('\n')).not.toContain(image)
    expect(await listTags(repo)).toEqual([])
    expect(calls('CreateCacheEntry', since)).toBe(0)
  })
})

describe('smaller correctness', () => {
  test('a hash-pinned requirements file works: the own file gets its hash, the dependency is checked against its pin', async () => {
    const ws = await workspace('hashes', ['derived'])
    const sdist = path.join(WORK_DIR, 'index-files', 'service')
    const file = (await readdir(sdist)).find((f) => f.endsWith('.tar.gz')) as string
    const hash = createHash('sha256')
      .update(await readFile(path.join(sdist, file)))
      .digest('hex')
    await writeFile(path.join(ws, 'requirements.txt'), `wsa-service==1.0.0 --hash=sha256:${hash}\n`)
    const image = `${REGISTRY}/${NS}/hashes`
    const run = await runAction({
      workspace: ws,
      inputs: inputs(image, { requirements: 'requirements.txt', push: 'true' }),
      event: { name: 'push', payload: { ref: 'refs/heads/main', after: SHA, repository: same } },
      sha: SHA
    })
    expectGreen(run)
    expect(`${run.stdout}`).toMatch(/Wheel cache: not used, the requirements pin hashes/)
    const { stdout } = await runImage(`${image}:sha-${SHA.slice(0, 7)}`, 'linux/amd64')
    expect(stdout).toBe('wsa-derived 1.0.0 ok 35 wsa-service 1.0.0 x86_64\n')

    // A wrong pin fails the build: the pins are really checked.
    await writeFile(
      path.join(ws, 'requirements.txt'),
      `wsa-service==1.0.0 --hash=sha256:${'0'.repeat(64)}\n`
    )
    const bad = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/hashes-bad`, {
        requirements: 'requirements.txt',
        cache: 'false'
      })
    })
    expect(bad.exitCode).not.toBe(0)
    expect(await readFile(bad.logFile, 'utf8')).toMatch(/THESE PACKAGES DO NOT MATCH THE HASHES/)
  })

  test('an import name that is not the module fails the smoke test with an error naming "module"', async () => {
    const ws = await workspace('module', ['service'])
    const run = await runAction({
      workspace: ws,
      inputs: inputs(`${REGISTRY}/${NS}/module`, {
        package: '',
        module: 'wsa_servic',
        cache: 'false'
      })
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors.join('\n')).toMatch(/Smoke test failed on linux\/amd64/)
    expect(run.errors.join('\n')).toMatch(/ModuleNotFoundError: No module named 'wsa_servic'/)
    expect(run.errors.join('\n')).toMatch(/"module"/)
  })
})
