// A local stand-in for GitHub's Actions cache service (protocol v2) that the real @actions/cache
// talks to: Twirp JSON for the entries, Azure Blob shapes for the archives behind signed URLs.
// Verified against @actions/cache 6.3 (lib/cache.js, lib/internal/shared/cacheTwirpClient.js,
// uploadUtils.js, downloadUtils.js, cacheHttpClient.js, config.js) and @azure/storage-blob 12.31.
// Not reproduced: branch scopes, the 10 GB quota and eviction, 429 rate limits.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

/**
 * How the service misbehaves. `error`: every Twirp call answers 500 `internal`. `hang`: every
 * request is accepted and never answered. `corrupt`: blob downloads return random bytes of the
 * stored length. `down`: nothing listens on the service's port.
 */
export type CacheFault = 'none' | 'error' | 'hang' | 'corrupt' | 'down'

/** A finalized entry, as restore would see it. `id` is the `entry_id`, increasing with age. */
export interface CacheEntry {
  id: number
  key: string
  version: string
  size: number
}

export interface LoggedRequest {
  method: string
  /** Path and query as received: `/twirp/…/CreateCacheEntry`, `/actions-cache/…?comp=block…`. */
  path: string
}

export interface CacheService {
  /** The results URL, with the trailing slash the runner gives it. */
  url: string
  /** Everything a client process needs on top of its own environment, NODE_OPTIONS included. */
  env: Record<string, string>
  /** Finalized entries, oldest first. */
  entries(): CacheEntry[]
  /** Every request received, faults included, in arrival order. */
  requests: LoggedRequest[]
  /** Switching to or from `down` closes or re-opens the port, hence the promise. */
  setFault(fault: CacheFault): Promise<void>
  /** Closes the port and every open socket, hanging ones included. */
  stop(): Promise<void>
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/'
const CONTAINER = '/actions-cache/'
// Only `*.blob.core.windows.net` download URLs take the Azure SDK path (cacheHttpClient.js
// downloadCache); blob-dns.mjs, preloaded in the client, resolves them to 127.0.0.1.
const BLOB_SUFFIX = '.blob.core.windows.net'
const BLOB_HOST = `wsa-cache${BLOB_SUFFIX}`
const DNS_PRELOAD = fileURLToPath(new URL('./blob-dns.mjs', import.meta.url))

interface Blob {
  data: Buffer
  etag: string
  modified: string
  garbage?: Buffer
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    msg: string
  ) {
    super(msg)
  }
}

export async function startCacheService(
  options: { fault?: CacheFault } = {}
): Promise<CacheService> {
  const token = randomUUID()
  const sig = randomBytes(16).toString('base64url')
  let fault: CacheFault = 'none'
  const requests: LoggedRequest[] = []
  const entries: (CacheEntry & { blob: string })[] = []
  const reserved = new Map<string, string>() // key + '\0' + version -> blob name awaiting finalize
  const blobs = new Map<string, Blob>() // committed blobs
  const blocks = new Map<string, Map<string, Buffer>>() // staged, uncommitted blocks per blob

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' })
    if (fault === 'hang') return // leave it open; stop() destroys the socket
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err))
    })
  })
  const port = await listen(0)
  const url = `http://127.0.0.1:${port}/`
  const blobUrl = (name: string, perms: string) =>
    `http://${BLOB_HOST}:${port}${CONTAINER}${name}?sv=2025-01-05&sr=b&sp=${perms}&sig=${sig}`

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req)
    const path = new URL(req.url ?? '/', url).pathname
    if (path.startsWith(TWIRP_PREFIX) && req.method === 'POST') {
      try {
        if (fault === 'error') throw new TwirpError(500, 'internal', 'injected fault')
        if (req.headers.authorization !== `Bearer ${token}`) {
          throw new TwirpError(401, 'unauthenticated', 'invalid bearer token')
        }
        sendJson(res, 200, twirp(path.slice(TWIRP_PREFIX.length), parseJson(body)))
      } catch (err) {
        if (!(err instanceof TwirpError)) throw err
        sendJson(res, err.status, { code: err.code, msg: err.message })
      }
    } else if (path.startsWith(CONTAINER)) {
      blob(req, res, decodeURIComponent(path.slice(CONTAINER.length)), body)
    } else {
      sendJson(res, 404, {
        code: 'bad_route',
        msg: `no handler for ${req.method} ${path}`
      })
    }
  }

  function twirp(method: string, body: Record<string, unknown>): object {
    const key = typeof body.key === 'string' ? body.key : ''
    const version = typeof body.version === 'string' ? body.version : ''
    if (!key || !version)
      throw new TwirpError(400, 'invalid_argument', 'key and version are required')
    const id = `${key}\0${version}`
    switch (method) {
      case 'CreateCacheEntry': {
        if (reserved.has(id) || entries.some((e) => e.key === key && e.version === version)) {
          throw new TwirpError(
            409,
            'already_exists',
            'cache entry with the same key and version already exists'
          )
        }
        const name = randomUUID()
        reserved.set(id, name)
        return { ok: true, signed_upload_url: blobUrl(name, 'cw') }
      }
      case 'FinalizeCacheEntryUpload': {
        const name = reserved.get(id)
        if (!name)
          throw new TwirpError(404, 'not_found', 'no cache entry is being created for this key')
        const size = blobs.get(name)?.data.length
        if (size === undefined || String(size) !== String(body.size_bytes)) {
          throw new TwirpError(
            400,
            'invalid_argument',
            `size_bytes ${String(body.size_bytes)} != uploaded ${size}`
          )
        }
        reserved.delete(id)
        entries.push({
          id: entries.length + 1,
          key,
          version,
          size,
          blob: name
        })
        return { ok: true, entry_id: String(entries.length) }
      }
      case 'GetCacheEntryDownloadURL': {
        const restoreKeys = Array.isArray(body.restore_keys) ? body.restore_keys.map(String) : []
        const candidates = entries.filter((e) => e.version === version)
        const newest = (match: (k: string) => boolean) =>
          candidates.filter((e) => match(e.key)).at(-1)
        const hit =
          newest((k) => k === key) ??
          newest((k) => k.startsWith(key)) ??
          restoreKeys.map((rk) => newest((k) => k.startsWith(rk))).find((e) => e !== undefined)
        if (!hit) return { ok: false }
        return {
          ok: true,
          signed_download_url: blobUrl(hit.blob, 'r'),
          matched_key: hit.key
        }
      }
      default:
        throw new TwirpError(404, 'bad_route', `no method ${method}`)
    }
  }

  // The Azure Blob REST calls the storage SDK makes: Put Blob, Put Block, Put Block List,
  // Get Blob Properties (HEAD) and ranged Get Blob (`x-ms-range`, or `Range` from plain clients).
  function blob(req: IncomingMessage, res: ServerResponse, name: string, body: Buffer): void {
    const query = new URL(req.url ?? '/', url).searchParams
    const date = new Date().toUTCString()
    const send = (status: number, headers: OutgoingHttpHeaders, data?: Buffer | string) => {
      const version = String(req.headers['x-ms-version'] ?? '2025-01-05')
      res.writeHead(status, {
        'x-ms-request-id': randomUUID(),
        'x-ms-version': version,
        date,
        ...headers
      })
      res.end(req.method === 'HEAD' ? undefined : data)
    }
    const fail = (status: number, code: string) =>
      send(
        status,
        { 'x-ms-error-code': code, 'content-type': 'application/xml' },
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`
      )
    const commit = (data: Buffer, extra: OutgoingHttpHeaders = {}) => {
      const etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`
      blobs.set(name, { data, etag, modified: date })
      blocks.delete(name)
      send(201, {
        etag,
        'last-modified': date,
        'x-ms-request-server-encrypted': 'true',
        ...extra
      })
    }

    if (query.get('sig') !== sig) return fail(403, 'AuthenticationFailed')
    if (req.method === 'PUT' && query.get('comp') === 'block') {
      // Raw query value: a base64 id may hold '+', which URLSearchParams would read as ' '.
      const blockId = decodeURIComponent(/[?&]blockid=([^&]*)/.exec(req.url ?? '')?.[1] ?? '')
      if (!blockId) return fail(400, 'InvalidQueryParameterValue')
      blocks.set(name, (blocks.get(name) ?? new Map<string, Buffer>()).set(blockId, body))
      return send(201, { 'x-ms-request-server-encrypted': 'true' })
    }
    if (req.method === 'PUT' && query.get('comp') === 'blocklist') {
      const staged = blocks.get(name)
      const ids = [...body.toString().matchAll(/<(?:Latest|Uncommitted)>([^<]*)</g)]
      const parts = ids.map((m) => staged?.get(m[1] ?? ''))
      if (!parts.every((p) => p !== undefined)) return fail(400, 'InvalidBlockList')
      return commit(Buffer.concat(parts))
    }
    if (req.method === 'PUT') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') return fail(400, 'MissingRequiredHeader')
      return commit(body, {
        'content-md5': createHash('md5').update(body).digest('base64')
      })
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'UnsupportedHttpVerb')

    const stored = blobs.get(name)
    if (!stored) return fail(404, 'BlobNotFound')
    const data =
      fault === 'corrupt' ? (stored.garbage ??= randomBytes(stored.data.length)) : stored.data
    const headers = {
      etag: stored.etag,
      'last-modified': stored.modified,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-server-encrypted': 'true'
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(
      String(req.headers['x-ms-range'] ?? req.headers.range ?? '')
    )
    if (req.method === 'HEAD' || !range) {
      return send(200, { ...headers, 'content-length': data.length }, data)
    }
    const start = Number(range[1])
    const end = Math.min(range[2] ? Number(range[2]) : Infinity, data.length - 1)
    if (start > end) return fail(416, 'InvalidRange')
    const slice = data.subarray(start, end + 1)
    send(
      206,
      {
        ...headers,
        'content-length': slice.length,
        'content-range': `bytes ${start}-${end}/${data.length}`
      },
      slice
    )
  }

  function listen(onPort: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(onPort, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  }

  function close(): Promise<void> {
    if (!server.listening) return Promise.resolve()
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections() // includes requests held open by 'hang'
    return closed
  }

  async function setFault(next: CacheFault): Promise<void> {
    if (next === 'down') await close()
    else if (!server.listening) await listen(port)
    fault = next
  }

  await setFault(options.fault ?? 'none')
  const noProxy = [process.env.NO_PROXY ?? process.env.no_proxy, '127.0.0.1', BLOB_SUFFIX]
    .filter(Boolean)
    .join(',')
  return {
    url,
    env: {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: url,
      ACTIONS_RUNTIME_TOKEN: token,
      GITHUB_SERVER_URL: 'https://github.com',
      NODE_OPTIONS: `--import ${DNS_PRELOAD}`,
      // A proxy from the environment must not swallow the loopback service or the blob host.
      NO_PROXY: noProxy,
      no_proxy: noProxy
    },
    entries: () => entries.map(({ id, key, version, size }) => ({ id, key, version, size })),
    requests,
    setFault,
    stop: close
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString() || '{}')
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new TwirpError(400, 'malformed', 'the request body is not a JSON object')
}

function sendJson(res: ServerResponse, status: number, value: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
}
