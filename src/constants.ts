/** Every input, output and state name in one place; the keys are the action.yml names. */

export const INPUT_DEFAULTS = {
  image: '',
  tags: '',
  'tag-prefix': '',
  'tag-suffix': '',
  'base-suffix': '-base',
  'arch-tags': 'false',
  'arch-tag-format': '{tag}-{arch}',
  merge: 'false',
  dist: 'dist',
  package: '',
  module: '',
  requirements: '',
  // Empty: the parent's Python version when there is a parent, else DEFAULT_PYTHON.
  'python-version': '',
  'builder-image': '',
  'runtime-image': '',
  parent: '',
  'wheel-dir': '/wheeley',
  platforms: 'linux/amd64,linux/arm/v7',
  push: '',
  'build-packages': '',
  'runtime-packages': '',
  'auto-runtime-packages': 'true',
  'pip-args': '',
  'extra-index-url': '',
  'build-args': '',
  'cache-from': '',
  'cache-to': '',
  'no-cache-filters': '',
  labels: '',
  annotations: '',
  'smoke-test': '',
  provenance: 'false',
  'qemu-image': 'docker.io/tonistiigi/binfmt:qemu-v7.0.0-28',
  'dockerfile-only': 'false',
  cache: 'true',
  'cache-key': 'wheel-slim',
  network: 'default'
} as const

export type InputName = keyof typeof INPUT_DEFAULTS
export const DEFAULT_PYTHON = '3.12'
export const INPUT_NAMES = Object.keys(INPUT_DEFAULTS) as InputName[]

export const OUTPUT_NAMES = [
  'dockerfile',
  'tags',
  'base-tags',
  'digest',
  'base-digest',
  'platforms',
  'metadata',
  'cache-hit',
  'wheels-built',
  'wheels-reused',
  'build-contexts'
] as const
export type OutputName = (typeof OUTPUT_NAMES)[number]

/** Main → post hand-off: what post must clean up. */
export const State = {
  IsPost: 'isPost',
  Cleanup: 'cleanup'
} as const

/** Paths inside the generated Dockerfile's stages (not user-controlled). */
export const DIST_MOUNT = '/wheel-slim/dist'
export const REQUIREMENTS_MOUNT = '/wheel-slim/requirements.txt'
export const PIP_CONF_SECRET = 'wheel-slim-pip-conf'
/** Named build context carrying the restored wheel cache. */
export const WHEEL_CACHE_CONTEXT = 'wheelcache'
/** Named build context carrying the stage script (src/tools/wheel_slim.py). */
export const TOOLS_CONTEXT = 'wheel-slim-tools'
export const RUNTIME_USER = 'app'
export const RUNTIME_UID = 10001
