// Proves the local cache service is faithful: the real @actions/cache, in a child process with the
// same env and DNS preload the action gets, saves and restores through it, and each fault shows
// what the real client does (and how long it takes) when the service misbehaves.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCacheService, type CacheService } from './support/cache-service.js'

const DRIVER = fileURLToPath(new URL('./support/cache-client.mjs', import.meta.url))
const RESULT_MARK = '@@cache-client-result '
const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/'

interface ClientSpec {
  op: 'save' | 'restore'
  paths: string[]
  key: string
  restoreKeys?: string[]
}

interface ClientRun {
  /** What saveCache/restoreCache returned or threw; absent when the child was killed. */
  outcome?: {
    ok: boolean
    type?: string
    result?: unknown
    error?: { message: string }
    ms: number
  }
  /** Everything the library printed (`::warning::…`, `::debug::…`, tar's command line). */
  log: string
  code: number | null
  signal: NodeJS.Signals | null
  wallMs: number
}

/** A workspace and RUNNER_TEMP of its own; the client runs with the workspace as cwd. */
interface Workspace {
  dir: string
  temp: string
}

async function makeWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), 'cache-service-'))
  const ws = { dir: join(root, 'workspace'), temp: join(root, 'temp') }
  await mkdir(ws.dir)
  await mkdir(ws.temp)
  return ws
}

function runClient(
  service: CacheService,
  ws: Workspace,
  spec: ClientSpec,
  killAfterMs = 60_000
): Promise<ClientRun> {
  // A runner's own ACTIONS_* variables (cache mode, v1 URL…) must not leak into the child.
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('ACTIONS_'))
  const env = {
    ...Object.fromEntries(inherited),
    ...service.env,
    RUNNER_TEMP: ws.temp,
    GITHUB_WORKSPACE: ws.dir
  }
  const started = Date.now()
  const child = spawn(process.execPath, [DRIVER, JSON.stringify(spec)], { cwd: ws.dir, env })
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  let log = ''
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      const line = log.split('\n').find((l) => l.startsWith(RESULT_MARK))
      const outcome = line ? JSON.parse(line.slice(RESULT_MARK.length)) : undefined
      resolve({ outcome, log, code, signal, wallMs: Date.now() - started })
    })
  })
}

/** Files as tar should reproduce them: type, permission bits, mtime (s), content or link target. */
async function snapshot(dir: string): Promise<string[]> {
  const lines: string[] = []
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const path = join(dir, name)
    const st = await lstat(path)
    const mode = (st.mode & 0o7777).toString(8)
    const mtime = Math.floor(st.mtimeMs / 1000)
    if (st.isSymbolicLink()) lines.push(`${name} link -> ${await readlink(path)}`)
    else if (st.isDirectory()) lines.push(`${name} dir ${mode} ${mtime}`)
    else lines.push(`${name} file ${mode} ${mtime} ${(await readFile(path)).toString('base64')}`)
  }
  return lines
}

const twirpCalls = (service: CacheService, method: string) =>
  service.requests.filter((r) => r.path === TWIRP + method).length

function report(what: string, run: ClientRun): void {
  const took = run.outcome ? `returned after ${run.outcome.ms} ms` : `killed by ${run.signal}`
  console.info(`${what}: ${took} (child wall ${run.wallMs} ms)`)
}

describe('local cache service with the real @actions/cache', () => {
  let service: CacheService
  let ws: Workspace

  beforeAll(async () => {
    service = await startCacheService()
    ws = await makeWorkspace()
  })
  afterAll(async () => {
    await service.stop()
    await rm(join(ws.dir, '..'), { recursive: true, force: true })
  })

  test('save then restore round-trips a directory through Put Blob, HEAD and ranged GETs', async () => {
    const data = join(ws.dir, 'data')
    await mkdir(join(data, 'bin'), { recursive: true })
    await mkdir(join(data, 'private'), { mode: 0o750 })
    await writeFile(join(data, 'readme.txt'), 'hello\n')
    await writeFile(join(data, 'bin', 'tool.sh'), '#!/bin/sh\necho tool\n', { mode: 0o755 })
    await writeFile(join(data, 'private', 'token'), 'secret', { mode: 0o600 })
    await chmod(join(data, 'private'), 0o750)
    await symlink('readme.txt', join(data, 'latest'))
    const when = new Date('2021-05-04T03:02:01Z')
    for (const p of ['readme.txt', 'bin/tool.sh', 'private/token', 'bin', 'private']) {
      await utimes(join(data, p), when, when)
    }
    const before = await snapshot(data)

    const save = await runClient(service, ws, { op: 'save', paths: ['data'], key: 'round-trip-1' })
    report('save (small)', save)
    expect(save.outcome).toMatchObject({ ok: true, type: 'number' })
    expect(save.outcome?.result).toBeGreaterThan(0)
    expect(save.code).toBe(0)
    expect(save.log).toContain('--use-compress-program zstdmt')
    const [entry] = service.entries()
    expect(entry).toMatchObject({ key: 'round-trip-1', id: save.outcome?.result })
    expect(entry?.size).toBeGreaterThan(0)
    // One Put Blob (no ?comp=) below the 128 MiB single-shot limit, between reserve and finalize.
    expect(service.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      `POST ${TWIRP}CreateCacheEntry`,
      expect.stringMatching(/^PUT \/actions-cache\/[\w-]+$/),
      `POST ${TWIRP}FinalizeCacheEntryUpload`
    ])

    await rm(data, { recursive: true })
    const seen = service.requests.length
    const restore = await runClient(service, ws, {
      op: 'restore',
      paths: ['data'],
      key: 'round-trip-1'
    })
    report('restore (small)', restore)
    expect(restore.outcome).toMatchObject({ ok: true, result: 'round-trip-1' })
    expect(restore.code).toBe(0) // nothing left open: the process ends by itself
    expect(restore.log).toContain('Cache hit for: round-trip-1')
    expect(await snapshot(data)).toEqual(before)
    // The Azure SDK path: Get Blob Properties, then ranged Get Blob.
    const blobCalls = service.requests.slice(seen + 1).map((r) => r.method)
    expect(blobCalls).toEqual(['HEAD', 'GET'])
  })

  test('prefix matching: exact key first, then key as prefix, then restore keys; newest wins', async () => {
    const dir = join(ws.dir, 'deps')
    for (const n of [1, 2]) {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'which'), `v${n}`)
      const save = await runClient(service, ws, { op: 'save', paths: ['deps'], key: `deps-${n}` })
      expect(save.outcome).toMatchObject({ ok: true, type: 'number' })
    }
    const restored = async (key: string, restoreKeys?: string[]) => {
      await rm(dir, { recursive: true, force: true })
      const run = await runClient(service, ws, { op: 'restore', paths: ['deps'], key, restoreKeys })
      return { key: run.outcome?.result, file: await readFile(join(dir, 'which'), 'utf8') }
    }
    expect(await restored('deps-9', ['nope-', 'deps-'])).toEqual({ key: 'deps-2', file: 'v2' })
    expect(await restored('deps-1', ['deps-'])).toEqual({ key: 'deps-1', file: 'v1' })
    expect(await restored('deps')).toEqual({ key: 'deps-2', file: 'v2' })
  })

  test('a miss returns undefined: unknown key, or same key with other path strings (version)', async () => {
    const unknown = await runClient(service, ws, { op: 'restore', paths: ['deps'], key: 'absent' })
    expect(unknown.outcome).toEqual({ ok: true, type: 'undefined', ms: expect.any(Number) })
    expect(unknown.log).not.toContain('::warning::')
    // The version hashes the path strings as given: './deps' is another entry than 'deps'.
    const other = await runClient(service, ws, { op: 'restore', paths: ['./deps'], key: 'deps-1' })
    expect(other.outcome).toMatchObject({ ok: true, type: 'undefined' })
  })

  test('saving an existing key again is refused (409) and the client returns -1 without throwing', async () => {
    await mkdir(join(ws.dir, 'twice'), { recursive: true })
    await writeFile(join(ws.dir, 'twice', 'f'), 'x')
    const first = await runClient(service, ws, { op: 'save', paths: ['twice'], key: 'twice-1' })
    expect(first.outcome?.result).toBeGreaterThan(0)
    const creates = twirpCalls(service, 'CreateCacheEntry')
    const second = await runClient(service, ws, { op: 'save', paths: ['twice'], key: 'twice-1' })
    expect(second.outcome).toMatchObject({ ok: true, result: -1 })
    expect(second.log).toContain('Failed to save: Unable to reserve cache with key twice-1')
    expect(second.log).toContain('(409) Conflict: cache entry with the same key')
    expect(twirpCalls(service, 'CreateCacheEntry')).toBe(creates + 1) // 409 is not retried
    expect(service.entries().filter((e) => e.key === 'twice-1')).toHaveLength(1)
  })

  test('an archive over 128 MiB goes up as Put Block + Put Block List and comes back intact', async () => {
    const dir = join(ws.dir, 'big')
    await mkdir(dir)
    const noise = randomBytes(130 * 1024 * 1024) // incompressible: the archive stays > 128 MiB
    await writeFile(join(dir, 'noise.bin'), noise)
    const seen = service.requests.length
    const save = await runClient(service, ws, { op: 'save', paths: ['big'], key: 'big-1' })
    report('save (130 MiB)', save)
    expect(save.outcome).toMatchObject({ ok: true, type: 'number' })
    const puts = service.requests.slice(seen).filter((r) => r.method === 'PUT')
    // saveCacheV2 forces 64 MiB blocks: three Put Block, then one Put Block List.
    expect(puts.map((r) => new URL(r.path, service.url).searchParams.get('comp'))).toEqual([
      'block',
      'block',
      'block',
      'blocklist'
    ])

    await rm(dir, { recursive: true })
    const restore = await runClient(service, ws, { op: 'restore', paths: ['big'], key: 'big-1' })
    report('restore (130 MiB)', restore)
    expect(restore.outcome).toMatchObject({ ok: true, result: 'big-1' })
    const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect(sha256(await readFile(join(dir, 'noise.bin')))).toBe(sha256(noise))
    await rm(dir, { recursive: true })
  })

  test('the service itself: bearer token checked, entries invisible until finalized', async () => {
    const call = async (
      method: string,
      body: object,
      token = service.env.ACTIONS_RUNTIME_TOKEN
    ) => {
      const res = await fetch(new URL(TWIRP + method, service.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body)
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    const entry = { key: 'pending-1', version: 'v' }
    expect(await call('CreateCacheEntry', entry, 'wrong')).toMatchObject({
      status: 401,
      body: { code: 'unauthenticated' }
    })
    expect(await call('CreateCacheEntry', entry)).toMatchObject({ status: 200, body: { ok: true } })
    expect(await call('GetCacheEntryDownloadURL', entry)).toEqual({
      status: 200,
      body: { ok: false }
    })
    expect(await call('FinalizeCacheEntryUpload', { ...entry, size_bytes: '1' })).toMatchObject({
      status: 400,
      body: { code: 'invalid_argument' }
    })
  })
})

describe('faults, as the real client meets them', () => {
  let ws: Workspace
  const services: CacheService[] = []
  const start = async (...args: Parameters<typeof startCacheService>) => {
    const service = await startCacheService(...args)
    services.push(service)
    return service
  }

  beforeAll(async () => {
    ws = await makeWorkspace()
    await mkdir(join(ws.dir, 'data'))
    await writeFile(join(ws.dir, 'data', 'f'), 'payload')
  })
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()))
    await rm(join(ws.dir, '..'), { recursive: true, force: true })
  })

  const save = (s: CacheService, key = 'fault-1') =>
    runClient(s, ws, { op: 'save', paths: ['data'], key })
  const restore = (s: CacheService, key = 'fault-1') =>
    runClient(s, ws, { op: 'restore', paths: ['data'], key })

  test("'error': 5 attempts with 3 s × 1.5^n backoff (~24-35 s), then save -1, restore undefined", async () => {
    const service = await start({ fault: 'error' })
    const [saved, restored] = await Promise.all([save(service), restore(service)])
    report("'error' save", saved)
    report("'error' restore", restored)
    expect(saved.outcome).toMatchObject({ ok: true, result: -1 })
    // The reason only reaches ::debug::; at info level it reads like a reservation conflict.
    expect(saved.log).toContain('Failed to save: Unable to reserve cache with key fault-1')
    expect(restored.outcome).toMatchObject({ ok: true, type: 'undefined' })
    expect(restored.log).toMatch(/::warning::Failed to restore: .*after 5 attempts.*\(500\)/)
    expect(twirpCalls(service, 'CreateCacheEntry')).toBe(5)
    expect(twirpCalls(service, 'GetCacheEntryDownloadURL')).toBe(5)
    for (const run of [saved, restored]) {
      expect(run.outcome?.ms).toBeGreaterThanOrEqual(24_000)
      expect(run.outcome?.ms).toBeLessThan(40_000)
    }
  })

  test("'hang': the Twirp client has no timeout, so save and restore wait until killed (60 s)", async () => {
    const service = await start({ fault: 'hang' })
    const [saved, restored] = await Promise.all([save(service), restore(service)])
    report("'hang' save", saved)
    report("'hang' restore", restored)
    for (const run of [saved, restored]) {
      expect(run.outcome).toBeUndefined()
      expect(run.signal).toBe('SIGKILL')
    }
    // One request each, never retried: nothing ever times out.
    expect(twirpCalls(service, 'CreateCacheEntry')).toBe(1)
    expect(twirpCalls(service, 'GetCacheEntryDownloadURL')).toBe(1)

    // stop() must not wait for requests the service is holding open.
    const pending = fetch(service.url).then(
      () => 'answered',
      () => 'failed'
    )
    while (service.requests.length < 3) await new Promise((r) => setTimeout(r, 20))
    const stopping = Date.now()
    await service.stop()
    expect(Date.now() - stopping).toBeLessThan(2_000)
    expect(await pending).toBe('failed')
  })

  test("'corrupt': garbage of the right length fails extraction; restore warns and misses", async () => {
    const service = await start()
    expect((await save(service)).outcome).toMatchObject({ ok: true, type: 'number' })
    await rm(join(ws.dir, 'data'), { recursive: true })
    await service.setFault('corrupt')
    const restored = await restore(service)
    report("'corrupt' restore", restored)
    expect(restored.outcome).toMatchObject({ ok: true, type: 'undefined' })
    expect(restored.log).toMatch(/::warning::Failed to restore: .*tar.* failed/)
    expect(restored.log).toContain(`Cache Size: ~0 MB (${service.entries()[0]?.size} B)`)
    await expect(lstat(join(ws.dir, 'data'))).rejects.toThrow()

    await service.setFault('none')
    expect((await restore(service)).outcome).toMatchObject({ ok: true, result: 'fault-1' })
    expect(await readFile(join(ws.dir, 'data', 'f'), 'utf8')).toBe('payload')
  })

  test("'down': connection refused is not retried; save -1 and restore undefined at once", async () => {
    const service = await start()
    expect((await save(service)).outcome).toMatchObject({ ok: true, type: 'number' })
    await service.setFault('down')
    const [saved, restored] = await Promise.all([save(service, 'fault-2'), restore(service)])
    report("'down' save", saved)
    report("'down' restore", restored)
    expect(saved.outcome).toMatchObject({ ok: true, result: -1 })
    expect(restored.outcome).toMatchObject({ ok: true, type: 'undefined' })
    expect(restored.log).toMatch(/::warning::Failed to restore: .*ECONNREFUSED/)
    for (const run of [saved, restored]) expect(run.outcome?.ms).toBeLessThan(5_000)

    await service.setFault('none') // the same port listens again
    expect((await restore(service)).outcome).toMatchObject({ ok: true, result: 'fault-1' })
  })
})
