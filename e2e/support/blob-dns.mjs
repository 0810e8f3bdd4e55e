// Preloaded in a child process with `NODE_OPTIONS=--import <this file>` so that the signed blob
// URLs of the local cache service (`http://<account>.blob.core.windows.net:<port>/…`) reach
// 127.0.0.1 while @actions/cache still takes its Azure SDK path for `*.blob.core.windows.net`.
// http, https, net and undici all resolve through `dns.lookup` (net calls it with `all: true`
// when it races address families), so patching that one function and its promise twin suffices.
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'

const LOOPBACK = { address: '127.0.0.1', family: 4 }

/** True for a host name under `.blob.core.windows.net` (any case, optional trailing dot). */
function isBlobHost(hostname) {
  return (
    typeof hostname === 'string' &&
    hostname.toLowerCase().replace(/\.$/, '').endsWith('.blob.core.windows.net')
  )
}

const wantsAll = (options) => typeof options === 'object' && options !== null && !!options.all

const lookup = dns.lookup
dns.lookup = function (hostname, options, callback) {
  if (!isBlobHost(hostname)) return lookup.apply(this, arguments)
  const done = typeof options === 'function' ? options : callback
  const all = wantsAll(options)
  process.nextTick(() =>
    all ? done(null, [{ ...LOOPBACK }]) : done(null, LOOPBACK.address, LOOPBACK.family)
  )
  return {}
}

const lookupPromise = dns.promises.lookup
dns.promises.lookup = function (hostname, options) {
  if (!isBlobHost(hostname)) return lookupPromise.apply(this, arguments)
  return Promise.resolve(wantsAll(options) ? [{ ...LOOPBACK }] : { ...LOOPBACK })
}

// Make `import { lookup } from 'node:dns'` (and 'node:dns/promises') see the overrides too.
syncBuiltinESMExports()
