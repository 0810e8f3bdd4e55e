/**
 * What the dist directory holds: the package's name and version, read from the file names
 * of its sdists and wheels (PEP 625 / PEP 427), so the build pins exactly what was built.
 */
import { InputError, normalizeName } from './validate.js'

export interface Distribution {
  file: string
  name: string
  version: string
}

const WHEEL = /^([A-Za-z0-9_.]+)-([A-Za-z0-9_.!+]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$/
// Older sdists keep hyphens in the name: the version starts at the last "-<digit>".
const SDIST = /^(.+)-(\d[A-Za-z0-9_.!+]*)\.(tar\.gz|zip)$/

export function parseDistFile(file: string): Distribution | undefined {
  const m = WHEEL.exec(file) ?? SDIST.exec(file)
  if (!m) return undefined
  return { file, name: normalizeName(m[1] as string), version: m[2] as string }
}

export interface ResolvedPackage {
  name: string
  version: string
  module: string
  /** Its files in dist: the build asks for one of these by path, never for the name on an index. */
  files: string[]
}

/**
 * Pick the package to build from the dist files: the one named by `package`, or the only one.
 * Several versions of it are refused: which one to ship would be a guess.
 */
export function resolvePackage(
  files: string[],
  distInput: string,
  packageInput: string,
  moduleInput: string
): ResolvedPackage {
  const dists = files.map(parseDistFile).filter((d): d is Distribution => d !== undefined)
  const names = [...new Set(dists.map((d) => d.name))].sort()
  if (names.length === 0) {
    throw new InputError(
      'dist',
      distInput,
      'a directory holding the package\'s sdist (.tar.gz) or wheel (.whl); build it first, e.g. "python -m build"'
    )
  }
  let name: string
  if (packageInput !== '') {
    name = normalizeName(packageInput)
    if (!names.includes(name)) {
      throw new InputError(
        'package',
        packageInput,
        `one of the packages found in "${distInput}": ${names.join(', ')}`
      )
    }
  } else if (names.length === 1) {
    name = names[0] as string
  } else {
    throw new InputError(
      'package',
      '',
      `the package to build, since "${distInput}" holds several: ${names.join(', ')}`
    )
  }
  const versions = [...new Set(dists.filter((d) => d.name === name).map((d) => d.version))]
  if (versions.length > 1) {
    throw new InputError(
      'dist',
      distInput,
      `one version of ${name}, found ${versions.sort().join(', ')}: clean the directory before building`
    )
  }
  return {
    name,
    version: versions[0] as string,
    module: moduleInput !== '' ? moduleInput : name.replace(/-/g, '_'),
    files: dists
      .filter((d) => d.name === name)
      .map((d) => d.file)
      .sort()
  }
}
