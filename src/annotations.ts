/**
 * OCI annotations, as buildx writes them: `[level[platform]:]key=value`, which is also what
 * docker/metadata-action's `annotations` output holds. By default the images' OCI labels are
 * repeated as annotations of the multi-platform index (where registries such as GHCR read a
 * package's description). An index exists only when there is more than one platform: a
 * single-platform build keeps index annotations for the merge job that makes the index.
 */

const OCI_PREFIX = 'org.opencontainers.image.'
const ANNOTATION =
  /^(?:(manifest|index|manifest-descriptor|index-descriptor)(\[[A-Za-z0-9/_.,-]+\])?:)?([A-Za-z0-9][A-Za-z0-9._/-]*)=([^\n\r\0]*)$/

export interface Annotation {
  level: 'manifest' | 'index' | 'manifest-descriptor' | 'index-descriptor'
  /** buildx's platform selector, e.g. "[linux/amd64]", or "". */
  platforms: string
  key: string
  value: string
}

export function parseAnnotation(line: string): Annotation | undefined {
  const m = ANNOTATION.exec(line)
  if (!m) return undefined
  return {
    level: (m[1] ?? 'manifest') as Annotation['level'],
    platforms: m[2] ?? '',
    key: m[3] as string,
    value: m[4] as string
  }
}

const format = (a: Annotation): string => `${a.level}${a.platforms}:${a.key}=${a.value}`

/** One line per level, platform and key; a later line wins (the user's over the defaults). */
function unique(list: Annotation[]): string[] {
  const byKey = new Map<string, Annotation>()
  for (const a of list) byKey.set(`${a.level}${a.platforms}:${a.key}`, a)
  return [...byKey.values()].map(format)
}

/** The OCI labels (key=value lines, the last of a key winning) as index annotations. */
function fromLabels(labels: string[]): Annotation[] {
  const map = new Map(labels.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  return [...map]
    .filter(([key]) => key.startsWith(OCI_PREFIX))
    .map(([key, value]) => ({ level: 'index', platforms: '', key, value }))
}

/** A build's annotations: the OCI labels on the index, then the user's lines. */
export function buildAnnotations(labels: string[], user: string[]): string[] {
  return unique([...fromLabels(labels), ...user.map((l) => parseAnnotation(l) as Annotation)])
}

/** Those a build of `platformCount` platforms can write: index ones only if it makes an index. */
export function forPlatforms(annotations: string[], platformCount: number): string[] {
  return platformCount > 1 ? annotations : annotations.filter((l) => !l.startsWith('index'))
}

/**
 * What a merge writes on the index it creates: the per-architecture images' OCI labels and the
 * user's index annotations (`buildx imagetools create` takes index annotations only; the
 * manifest ones are on the images the matrix jobs pushed).
 */
export function mergeAnnotations(labels: Record<string, string>, user: string[]): string[] {
  const lines = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  return buildAnnotations(lines, user).filter((l) => l.startsWith('index:'))
}
