// A tiny PEP 503 "simple" index on 127.0.0.1 for the e2e tests: only registered files are
// served (looked up by basename), optionally behind HTTP basic auth, every request logged.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { deflateRawSync } from 'node:zlib'

export interface IndexFile {
  project: string
  /** Basename, the only key a download URL can reach. */
  file: string
  /** Absolute path on disk. */
  path: string
}

export interface IndexRequest {
  method: string
  /** Path and query as received. */
  path: string
  /** Whether the request carried the right credentials; always true when auth is off. */
  authorized: boolean
}

export interface IndexServer {
  /** `http://127.0.0.1:PORT/simple/`, without credentials. */
  url: string
  /** The same URL with `user:password@`, when basic auth is on. */
  urlWithAuth?: string
  port: number
  /** Every request, rejected ones included, in arrival order. */
  requests: IndexRequest[]
  /** Registers more files; a basename registered again replaces the earlier one. */
  add(files: IndexFile[]): void
  stop(): Promise<void>
}

/** PEP 503 normalization: the form project URLs use. */
export function normalizeProject(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-')
}

export async function startIndexServer(opts: {
  files: IndexFile[]
  auth?: { user: string; password: string }
  port?: number
  host?: string
}): Promise<IndexServer> {
  const { auth, host = '127.0.0.1' } = opts
  const files = new Map<string, IndexFile & { sha256: string }>()
  const requests: IndexRequest[] = []
  const add = (more: IndexFile[]): void => {
    for (const f of more) {
      if (path.basename(f.file) !== f.file) throw new Error(`Not a basename: ${f.file}`)
      // Hashed now so a missing file fails the test setup, not a pip run later.
      const sha256 = createHash('sha256').update(readFileSync(f.path)).digest('hex')
      files.set(f.file, { ...f, project: normalizeProject(f.project), sha256 })
    }
  }
  add(opts.files)

  const isAuthorized = (header: string | undefined): boolean => {
    if (!auth) return true
    const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '')
    return !!m?.[1] && Buffer.from(m[1], 'base64').toString() === `${auth.user}:${auth.password}`
  }

  const server = createServer((req, res) => {
    const authorized = isAuthorized(req.headers.authorization)
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorized })
    if (!authorized) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="e2e-index"' }).end('unauthorized\n')
      return
    }
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err))
    })
  })

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string | Buffer) =>
      res
        .writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
        .end(req.method === 'HEAD' ? undefined : body)
    const redirect = (to: string) => res.writeHead(301, { Location: to }).end()
    if (req.method !== 'GET' && req.method !== 'HEAD') return void send(405, 'text/plain', '')
    const pathname = new URL(req.url ?? '/', 'http://index').pathname
    let name: string
    try {
      name = decodeURIComponent(pathname.split('/')[2] ?? '')
    } catch {
      return void send(400, 'text/plain', 'bad path\n')
    }
    if (pathname === '/simple') return void redirect('/simple/')
    if (pathname === '/simple/') {
      const projects = [...new Set([...files.values()].map((f) => f.project))].sort()
      const links = projects.map((p) => [`${p}/`, p])
      return void send(200, HTML, page('Simple index', links))
    }
    const project = /^\/simple\/[^/]+\/?$/.test(pathname) ? normalizeProject(name) : undefined
    const listed = [...files.values()].filter((f) => f.project === project)
    if (project && listed.length) {
      // pip asks for the normalized slash form; anything else is sent there.
      if (pathname !== `/simple/${project}/`) return void redirect(`/simple/${project}/`)
      const links = listed.map((f) => [
        `../../files/${encodeURIComponent(f.file)}#sha256=${f.sha256}`,
        f.file
      ])
      return void send(200, HTML, page(`Links for ${project}`, links))
    }
    const file = /^\/files\/[^/]+$/.test(pathname) ? files.get(name) : undefined
    if (file) return void send(200, 'application/octet-stream', await readFile(file.path))
    send(404, 'text/plain', 'not found\n')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host // an IPv4 host, for the URL
  const creds = auth && `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@`
  return {
    url: `http://${shown}:${port}/simple/`,
    urlWithAuth: creds && `http://${creds}${shown}:${port}/simple/`,
    port,
    requests,
    add,
    stop: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections() // pip keeps connections alive
      })
  }
}

const HTML = 'text/html; charset=utf-8'

function page(title: string, links: string[][]): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  const anchors = links.map(
    ([href = '', text = '']) => `<a href="${esc(href)}">${esc(text)}</a><br>`
  )
  return `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"><title>${esc(title)}</title></head><body>\n${anchors.join('\n')}\n</body></html>\n`
}

const DEBIAN_WHEELS = '/usr/share/python-wheels'

/** setuptools and wheel from Debian's python3-setuptools-whl / python3-wheel-whl: no network. */
export function buildToolWheels(): IndexFile[] {
  const present = existsSync(DEBIAN_WHEELS) ? readdirSync(DEBIAN_WHEELS) : []
  return ['setuptools', 'wheel'].flatMap((project) => {
    // A wheel's name ends at the first '-' (names inside use '_').
    const found = present.filter((f) => f.endsWith('.whl') && f.split('-')[0] === project)
    if (!found.length) {
      throw new Error(
        `No ${project} wheel in ${DEBIAN_WHEELS}: install the Debian package python3-${project}-whl`
      )
    }
    return found.map((file) => ({ project, file, path: path.join(DEBIAN_WHEELS, file) }))
  })
}

/**
 * A pure-Python wheel of `project` whose `module` prints `message` on import (so both
 * `import module` and `python -m module` print it once) and exits 0.
 */
export async function makeImpostorWheel(opts: {
  project: string
  version: string
  module: string
  outDir: string
  message: string
}): Promise<IndexFile> {
  const { project, version, module, message } = opts
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(module)) throw new Error(`Not a module name: ${module}`)
  if (!/^[0-9][0-9A-Za-z.+!]*$/.test(version)) throw new Error(`Bad wheel version: ${version}`)
  // Wheel file names and dist-info dirs use the name lowercased, runs of -_. as '_'.
  const dist = project.toLowerCase().replace(/[-_.]+/g, '_')
  const info = `${dist}-${version}.dist-info`
  // A JSON string literal is also a valid Python string literal.
  const texts: [string, string][] = [
    [`${module}/__init__.py`, `MESSAGE = ${JSON.stringify(message)}\nprint(MESSAGE)\n`],
    [
      `${module}/__main__.py`,
      '# Importing the package printed MESSAGE already.\nraise SystemExit(0)\n'
    ],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${project}\nVersion: ${version}\n`],
    [
      `${info}/WHEEL`,
      'Wheel-Version: 1.0\nGenerator: wheel-slim-action-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    ]
  ]
  const entries = texts.map(([name, text]): [string, Buffer] => [name, Buffer.from(text)])
  const record = entries.map(([name, data]) => {
    const hash = createHash('sha256').update(data).digest('base64url')
    return `${name},sha256=${hash},${data.length}\n`
  })
  entries.push([`${info}/RECORD`, Buffer.from(`${record.join('')}${info}/RECORD,,\n`)])

  const file = `${dist}-${version}-py3-none-any.whl`
  const out = path.resolve(opts.outDir, file)
  await mkdir(path.dirname(out), { recursive: true })
  await rm(out, { force: true }) // zip would update an existing archive in place
  if (await hasZip()) await zipWithCli(out, entries)
  else await writeFile(out, zipBuffer(entries))
  return { project, file, path: out }
}

const run = promisify(execFile)

function hasZip(): Promise<boolean> {
  const found = run('/bin/sh', ['-c', 'command -v zip'])
  return found.then(() => true).catch(() => false)
}

async function zipWithCli(out: string, entries: [string, Buffer][]): Promise<void> {
  const stage = await mkdtemp(path.join(tmpdir(), 'wsa-wheel-'))
  try {
    for (const [name, data] of entries) {
      await mkdir(path.dirname(path.join(stage, name)), { recursive: true })
      await writeFile(path.join(stage, name), data)
    }
    // -X: no extra attributes, -D: no directory entries; listed in RECORD order.
    await run('zip', ['-q', '-X', '-D', out, ...entries.map(([name]) => name)], { cwd: stage })
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1
  return n >>> 0
})

// zlib.crc32 only exists from Node 20.15.
function crc32(data: Buffer): number {
  let c = 0xffffffff
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A minimal zip: DEFLATE entries, fixed 1980-01-01 00:00 timestamps, no zip64. */
function zipBuffer(entries: [string, Buffer][]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name)
    const packed = deflateRawSync(data)
    // version needed 2.0, UTF-8 names, deflate, time, date, crc, sizes, name length
    const shared = [2, 20, 2, 0x800, 2, 8, 2, 0, 2, 0x21, 4, crc32(data), 4, packed.length]
    shared.push(4, data.length, 2, nameBuf.length)
    const local = Buffer.concat([le(4, 0x04034b50, ...shared, 2, 0), nameBuf, packed])
    // made by unix 3.0; no extra, comment, disk, internal attrs; a rw-r--r-- regular file
    const attrs = [2, 0, 2, 0, 2, 0, 2, 0, 4, (0o100644 << 16) >>> 0, 4, offset]
    centrals.push(Buffer.concat([le(4, 0x02014b50, 2, 0x031e, ...shared, ...attrs), nameBuf]))
    locals.push(local)
    offset += local.length
  }
  const directory = Buffer.concat(centrals)
  const n = entries.length
  const end = le(4, 0x06054b50, 2, 0, 2, 0, 2, n, 2, n, 4, directory.length, 4, offset, 2, 0)
  return Buffer.concat([...locals, directory, end])
}

/** Little-endian fields given as (byte width, value) pairs. */
function le(...pairs: number[]): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < pairs.length; i += 2) {
    const part = Buffer.alloc(pairs[i] ?? 0)
    part.writeUIntLE(pairs[i + 1] ?? 0, 0, part.length)
    parts.push(part)
  }
  return Buffer.concat(parts)
}
