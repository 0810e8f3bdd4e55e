// An HTTP proxy in front of the e2e registry that fails on purpose: answers a status, resets the
// connection, hangs, or asks for a login, for requests chosen by method and path. Everything else
// streams through unchanged, so docker and buildx talk to `localhost:<port>` like a real registry.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pipeline } from 'node:stream'

export type Fault =
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'auth' }

export interface FaultRule {
  method?: string
  /** Matched against the path without the query, e.g. /\/manifests\/1\.4\.2$/. */
  path: RegExp
  fault: Fault
  /** How many matching requests get the fault (default: all); later ones pass through. */
  times?: number
  /** Let this many matching requests pass first. */
  after?: number
}

export interface ProxiedRequest {
  method: string
  /** Without the query, as rules see it. */
  path: string
  /** What the client got; 0 when it got no answer (reset, hang, or still in flight). */
  status: number
  /** `status 500`, `reset`, `hang` or `auth` when a rule fired. */
  fault?: string
}

export interface FaultProxy {
  /** `localhost:<port>`, the registry part of image names. */
  host: string
  port: number
  /** Every request, in arrival order. */
  requests: ProxiedRequest[]
  /** Replaces the rules and restarts their counts. */
  setRules(rules: FaultRule[]): void
  /** Closes the port and every open socket, hanging ones included. */
  stop(): Promise<void>
}

export async function startFaultProxy(
  opts: {
    upstream?: string
    port?: number
    rules?: FaultRule[]
    credentials?: { user: string; password: string }
  } = {}
): Promise<FaultProxy> {
  const upstream = opts.upstream ?? 'localhost:5000'
  const upstreamUrl = new URL(`http://${upstream}`)
  const creds = opts.credentials
  const validAuth =
    creds && `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`
  const requests: ProxiedRequest[] = []
  let rules: { rule: FaultRule; seen: number }[] = []
  const setRules = (next: FaultRule[]) => {
    rules = next.map((rule) => ({ rule, seen: 0 }))
  }
  setRules(opts.rules ?? [])
  // Our own pool, so stop() can drop the kept-alive upstream sockets too.
  const agent = new Agent({ keepAlive: true })

  // Every rule counts the requests it matches; the first one whose window is open fires.
  // An `auth` rule only matches requests without the right credentials.
  function pick(req: IncomingMessage, path: string): Fault | undefined {
    const authed = validAuth !== undefined && req.headers.authorization === validAuth
    let fired: Fault | undefined
    for (const r of rules) {
      const { method, path: re, fault, times = Infinity, after = 0 } = r.rule
      if (method && method.toUpperCase() !== req.method) continue
      if (!re.test(path) || (fault.kind === 'auth' && authed)) continue
      r.seen++
      if (!fired && r.seen > after && r.seen <= after + times) fired = fault
    }
    return fired
  }

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname
    const entry: ProxiedRequest = { method: req.method ?? '', path, status: 0 }
    requests.push(entry)
    res.on('finish', () => (entry.status = res.statusCode))
    const fault = pick(req, path)
    if (fault) entry.fault = fault.kind === 'status' ? `status ${fault.status}` : fault.kind
    if (fault?.kind === 'reset') req.socket.resetAndDestroy()
    else if (fault?.kind === 'status') res.writeHead(fault.status).end(fault.body)
    else if (fault?.kind === 'auth') {
      // What distribution's htpasswd auth answers; clients retry with Basic credentials.
      res.writeHead(401, {
        'content-type': 'application/json; charset=utf-8',
        'docker-distribution-api-version': 'registry/2.0',
        'www-authenticate': 'Basic realm="e2e"'
      })
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}\n')
    } else if (!fault) forward(req, res)
    // 'hang': leave it open; stop() destroys the socket.
  })

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const headers = { ...req.headers, host: upstream }
    // Node already answered `Expect: 100-continue` to the client; upstream needn't do it again.
    delete headers.expect
    if (validAuth && headers.authorization === validAuth) delete headers.authorization
    const up = request(
      {
        hostname: upstreamUrl.hostname,
        port: upstreamUrl.port || 80,
        agent,
        method: req.method,
        path: req.url,
        headers
      },
      (upRes) => {
        const out = { ...upRes.headers }
        // Upload sessions come back as absolute URLs on the upstream; keep the client on us.
        // Relative ones already resolve against the proxy.
        if (out.location && /^https?:\/\//i.test(out.location)) {
          const loc = new URL(out.location)
          if (loc.host === upstreamUrl.host) {
            out.location = `http://${req.headers.host ?? host}${loc.pathname}${loc.search}`
          }
        }
        res.writeHead(upRes.statusCode ?? 502, out)
        pipeline(upRes, res, () => undefined) // a client going away aborts the upstream reply
      }
    )
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502).end(`fault-proxy: upstream ${upstream}: ${err}`)
      else res.destroy()
    })
    pipeline(req, up, () => undefined) // streams uploads; a dead client aborts the upstream PUT
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
  const host = `localhost:${port}`

  return {
    host,
    port,
    requests,
    setRules,
    stop: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      agent.destroy()
      return closed
    }
  }
}
