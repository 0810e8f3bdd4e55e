/**
 * The package's own description and license, read from the metadata inside its dist files
 * (a wheel's METADATA, an sdist's PKG-INFO), for the images' OCI labels. Best effort: a file that
 * cannot be read gives no description, never an error.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, inflateRawSync } from 'node:zlib'

export interface PackageInfo {
  summary?: string
  license?: string
}

/** Core metadata fields (RFC 822 style headers, before the body). */
export function parseMetadata(text: string): PackageInfo {
  const head = text.split(/\r?\n\r?\n/)[0] ?? ''
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}: *(.*)$`, 'mi').exec(head)
    const value = m?.[1]?.trim()
    return value && value !== 'UNKNOWN' ? value : undefined
  }
  return { summary: field('Summary'), license: field('License-Expression') ?? field('License') }
}

/** METADATA from a wheel: find it in the zip's central directory, inflate it. */
function fromWheel(data: Buffer): string | undefined {
  const end = data.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (end < 0) return undefined
  let p = data.readUInt32LE(end + 16)
  const count = data.readUInt16LE(end + 10)
  for (let i = 0; i < count && data.readUInt32LE(p) === 0x02014b50; i++) {
    const method = data.readUInt16LE(p + 10)
    const size = data.readUInt32LE(p + 20)
    const [nameLen, extraLen, commentLen] = [28, 30, 32].map((o) => data.readUInt16LE(p + o))
    const name = data.toString('utf8', p + 46, p + 46 + (nameLen as number))
    const local = data.readUInt32LE(p + 42)
    if (/^[^/]+\.dist-info\/METADATA$/.test(name)) {
      const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28)
      const body = data.subarray(start, start + size)
      return (method === 8 ? inflateRawSync(body) : body).toString('utf8')
    }
    p += 46 + (nameLen as number) + (extraLen as number) + (commentLen as number)
  }
  return undefined
}

/** PKG-INFO from an sdist (.tar.gz): the first `<dir>/PKG-INFO` in the tar. */
function fromSdist(data: Buffer): string | undefined {
  const tar = gunzipSync(data)
  for (let p = 0; p + 512 <= tar.length;) {
    const name = tar.toString('utf8', p, p + 100).replace(/\0.*$/s, '')
    if (name === '') return undefined
    const size = parseInt(
      tar
        .toString('utf8', p + 124, p + 136)
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8
    )
    if (/^[^/]+\/PKG-INFO$/.test(name)) return tar.toString('utf8', p + 512, p + 512 + size)
    p += 512 + Math.ceil(size / 512) * 512
  }
  return undefined
}

export function readPackageInfo(dir: string, files: string[]): PackageInfo {
  for (const file of [...files].sort(
    (a, b) => Number(b.endsWith('.whl')) - Number(a.endsWith('.whl'))
  )) {
    try {
      const data = readFileSync(join(dir, file))
      const text = file.endsWith('.whl')
        ? fromWheel(data)
        : file.endsWith('.tar.gz')
          ? fromSdist(data)
          : undefined
      if (text) return parseMetadata(text)
    } catch {
      // an unreadable file describes nothing
    }
  }
  return {}
}
