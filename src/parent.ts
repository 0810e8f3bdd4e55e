/**
 * The parent image, checked before anything compiles: it must exist, hold every platform this
 * build is for, carry its wheels where wheel-dir says, and be of this build's Python.
 */
import { imageLabels, imagePlatforms, remoteDigest } from './registry.js'
import { InputError } from './validate.js'

export async function checkParent(
  parent: string,
  platforms: string[],
  wheelDir: string,
  pythonVersion: string
): Promise<void> {
  const refuse = (what: string): never => {
    throw new InputError('parent', parent, `a base image this action pushed that ${what}`)
  }
  if ((await remoteDigest(parent)) === undefined) refuse('exists; nothing is there')
  const found = await imagePlatforms(parent)
  const missing = platforms.filter((p) => !found.includes(p))
  if (missing.length > 0) {
    refuse(
      `holds ${platforms.join(', ')}; it holds ${found.join(', ')} (missing ${missing.join(', ')})`
    )
  }
  const labels = await imageLabels(parent)
  const dir = labels['io.wheel-slim.wheel-dir']
  if (dir !== wheelDir) {
    refuse(
      dir === undefined
        ? `carries a wheel directory at ${wheelDir} (wheel-dir); it has no io.wheel-slim.wheel-dir label, so no wheel directory`
        : `carries its wheels at ${wheelDir} (wheel-dir); they are at ${dir}`
    )
  }
  const python = labels['io.wheel-slim.python-version']
  if (python !== undefined && python !== pythonVersion) {
    refuse(
      `carries wheels for Python ${pythonVersion} (python-version); its wheels are for Python ${python}`
    )
  }
}
