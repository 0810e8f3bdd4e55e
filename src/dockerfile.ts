/**
 * The generated Dockerfile. Wheels are found or compiled per target platform, then installed on
 * the slim image without running anything emulated when every wheel already exists:
 *
 *   own, resolve, collect  run on the build host ($BUILDPLATFORM), natively (collect in the
 *                          runtime image's build-host variant, at its own paths)
 *   compile                runs on the target (QEMU) only when resolve came back incomplete
 *   base     builder (or parent) + the new wheels: the image children name as their parent
 *   wheels   only the wheel set, exported for the Actions cache
 *   runtime  the slim image + one layer of installed files (+ runtime packages), non-root
 *
 * Every user value arrives validated and lands in exec (JSON) form or in the JSON argument of
 * the stage script (src/tools/wheel_slim.py, mounted from a named build context), never in a
 * shell string. Each stage is its own function so the pieces can be composed differently.
 *
 * No step bind-mounts a whole image: BuildKit checksums a mounted tree before the step starts
 * (about 0.8 s for a slim image, 2.3 s for a full one), so each mounts only the files it reads.
 */
import {
  DIST_MOUNT,
  PIP_CONF_SECRET,
  REQUIREMENTS_MOUNT,
  RUNTIME_UID,
  RUNTIME_USER,
  TOOLS_CONTEXT,
  WHEEL_CACHE_CONTEXT
} from './constants.js'

export interface DockerfileSpec {
  /** Image that builds wheels: the builder, or the parent's wheel-carrying base image. */
  buildFrom: string
  fromParent: boolean
  runtimeFrom: string
  wheelDir: string
  /** Workspace-relative paths (the build context is the workspace). */
  distPath: string
  /** The package's name and its own files in dist/: the build asks for a file by path, never for the name. */
  packageName: string
  ownFiles: string[]
  requirementsPath?: string
  /** The requirements file pins hashes: the own file gets one, and no unpinned wheel is offered. */
  hashes: boolean
  module: string
  buildPackages: string[]
  runtimePackages: string[]
  /** Install the Debian packages the compiled wheels link to, found at build time. */
  autoRuntimePackages: boolean
  pipArgs: string[]
  /** Mount the pip.conf secret carrying extra-index-url where pip runs. */
  extraIndex: boolean
  /** Mount the restored wheel cache (named build context) as --find-links. */
  wheelCache: boolean
  /** Names of user build arguments, declared where pip runs so they reach it. */
  buildArgNames: string[]
  /**
   * The target platforms, when the build builds exactly these: one resolve step serves them all
   * (the pins and pip's start-up once). Unset: a resolve step per target, for any platforms.
   */
  platforms?: string[]
}

export const STAGES = {
  runtimeImage: 'runtime-image',
  runtimeNative: 'runtime-native',
  runtimeFiles: 'runtime-files',
  own: 'own',
  resolve: 'resolve',
  compile: 'compile',
  collect: 'collect',
  base: 'base',
  wheels: 'wheels',
  runtimeBase: 'runtime-base',
  runtime: 'runtime'
} as const
export const STAGE_NAMES: string[] = Object.values(STAGES)

const OUT = '/wheel-slim/out'
const TOOLS = '/wheel-slim/tools'
const CACHE = '/wheel-slim/cache'
const PARENT = '/wheel-slim/parent'
const APT = '/wheel-slim/apt'
const LAYER = '/wheel-slim/layer'
const RUNTIME_FILES = '/wheel-slim/runtime-image'
const json = (argv: string[]): string => `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`
const bind = (from: string | undefined, source: string | undefined, target: string): string =>
  `--mount=type=bind,${from ? `from=${from},` : ''}${source ? `source=${source},` : ''}target=${target}`

/** A RUN in exec form, with its flags (--network, --mount) on continuation lines. */
function run(argv: string[], flags: string[] = []): string {
  return 'RUN ' + [...flags, json(argv)].join(' \\\n    ')
}

/** The stage script with its JSON argument. */
const tool = (command: string, config: object): string[] => [
  'python3',
  `${TOOLS}/wheel_slim.py`,
  command,
  JSON.stringify(config)
]

/** What every pip-running stage sees: dist, requirements, cache, parent wheels, pip.conf. */
/** `parentStage`: the stage the parent's wheels are mounted from (its target or build-host variant). */
function pipMounts(s: DockerfileSpec, parentStage?: string): string[] {
  const mounts = [bind(TOOLS_CONTEXT, undefined, TOOLS), bind(undefined, s.distPath, DIST_MOUNT)]
  if (s.requirementsPath) mounts.push(bind(undefined, s.requirementsPath, REQUIREMENTS_MOUNT))
  if (s.wheelCache && !s.hashes) mounts.push(bind(WHEEL_CACHE_CONTEXT, undefined, CACHE))
  if (s.fromParent && parentStage) mounts.push(bind(parentStage, s.wheelDir, PARENT))
  if (s.extraIndex) mounts.push(`--mount=type=secret,id=${PIP_CONF_SECRET},target=/etc/pip.conf`)
  return mounts
}

/** The pip configuration the stage script gets; `parentDir` is where the parent's wheels are. */
function pipConfig(s: DockerfileSpec, parentDir?: string): Record<string, unknown> {
  const findLinks = [DIST_MOUNT]
  // Locally built wheels never match a pinned hash: with hashes, pip gets only what it can check.
  if (!s.hashes) {
    if (s.wheelCache) findLinks.push(CACHE)
    if (s.fromParent && parentDir) findLinks.push(parentDir)
  }
  return {
    dist: DIST_MOUNT,
    name: s.packageName,
    own: s.ownFiles,
    find_links: findLinks,
    requirements: s.requirementsPath ? REQUIREMENTS_MOUNT : null,
    hashes: s.hashes,
    pip_args: s.pipArgs
  }
}

const declareArgs = (s: DockerfileSpec): string[] => s.buildArgNames.map((n) => `ARG ${n}`)

function parentStage(s: DockerfileSpec): string[] {
  if (!s.fromParent) return []
  return [
    '# Stages "parent" and "parent-native": the parent\'s wheel-carrying base image, for each target',
    '# platform and for the build host (whose wheels tell the build host which versions there are).',
    `FROM ${s.buildFrom} AS parent`,
    `FROM --platform=$BUILDPLATFORM ${s.buildFrom} AS parent-native`
  ]
}

/**
 * With the package's pure wheel in dist/ (what `python -m build` writes) and no parent, nothing
 * is built on the build host: each resolve pins the versions itself, a step and a wait fewer.
 * A parent's wheels for the build host are only mounted here.
 */
const ownStageUsed = (s: DockerfileSpec): boolean =>
  s.fromParent || !s.ownFiles.some((f) => f.endsWith('-none-any.whl'))

function ownStage(s: DockerfileSpec): string[] {
  return [
    '# Stage "own": the package\'s wheel built once on the build host, when dist/ has only an sdist,',
    '# and the versions a normal resolution picks. Unused when dist/ has a pure wheel and no parent.',
    `FROM --platform=$BUILDPLATFORM ${s.buildFrom} AS ${STAGES.own}`,
    'ARG SOURCE_DATE_EPOCH',
    ...declareArgs(s),
    run(
      tool('own', {
        ...pipConfig(s, PARENT),
        build_packages: s.buildPackages
      }),
      pipMounts(s, 'parent-native')
    )
  ]
}

export const sharedResolve = (s: DockerfileSpec): boolean =>
  !s.fromParent && (s.platforms?.length ?? 0) > 1

/**
 * Without TARGETPLATFORM in it, one step for every target: BuildKit runs a step that is the same
 * for each platform once. The parent's wheels differ per target, so with a parent (and where the
 * platforms are not known here) each target has its own step.
 */
function resolveStage(s: DockerfileSpec): string[] {
  const shared = sharedResolve(s)
  return [
    `# Stage "resolve": every wheel ${shared ? 'each target needs' : 'the target needs'}, gathered on the build host without compiling.`,
    `FROM --platform=$BUILDPLATFORM ${s.buildFrom} AS ${STAGES.resolve}`,
    ...(shared ? [] : ['ARG TARGETPLATFORM']),
    'ARG SOURCE_DATE_EPOCH',
    ...declareArgs(s),
    run(
      tool('resolve', { ...(shared ? { platforms: s.platforms } : {}), ...pipConfig(s, PARENT) }),
      [
        ...pipMounts(s, 'parent'),
        ...(ownStageUsed(s) ? [bind(STAGES.own, OUT, '/wheel-slim/own')] : [])
      ]
    )
  ]
}

/** What resolve wrote for the step's target (it writes each target's under its platform). */
const RESOLVED = bind(STAGES.resolve, `${OUT}/$TARGETPLATFORM`, '/wheel-slim/resolved')

/** What the check that the builder fits the runtime image needs (compile and collect run it). */
const fitConfig = (s: DockerfileSpec): Record<string, unknown> => ({
  builder_image: s.buildFrom,
  runtime_image: s.runtimeFrom,
  runtime_packages: s.runtimePackages
})

/** First it checks that the builder fits the runtime image: before anything is compiled. */
function compileStage(s: DockerfileSpec): string[] {
  const config = { ...pipConfig(s, s.wheelDir), build_packages: s.buildPackages, ...fitConfig(s) }
  // The only emulated step of the wheel build, and a no-op (one shell test) when resolve found everything.
  const script = `[ -e /wheel-slim/resolved/complete ] || exec python3 ${TOOLS}/wheel_slim.py compile "$1"`
  return [
    '# Stage "compile": on the target platform (QEMU), only when resolve could not find every wheel.',
    `FROM ${s.fromParent ? 'parent' : s.buildFrom} AS ${STAGES.compile}`,
    'ARG TARGETPLATFORM',
    'ARG SOURCE_DATE_EPOCH',
    ...declareArgs(s),
    `WORKDIR ${OUT}/wheels`,
    run(
      ['/bin/sh', '-c', script, 'compile', JSON.stringify(config)],
      [...pipMounts(s), RESOLVED, bind(STAGES.runtimeFiles, undefined, RUNTIME_FILES)]
    )
  ]
}

/**
 * In the runtime image's build-host variant: the install tree lands at its own site-packages and
 * scripts paths, with its python's bytecode, in the same step (one step fewer to wait for).
 */
function collectStage(s: DockerfileSpec): string[] {
  const mounts = [
    bind(TOOLS_CONTEXT, undefined, TOOLS),
    RESOLVED,
    bind(STAGES.compile, OUT, '/wheel-slim/compiled')
  ]
  if (s.wheelCache) mounts.push(bind(WHEEL_CACHE_CONTEXT, undefined, CACHE))
  if (s.fromParent) mounts.push(bind('parent', s.wheelDir, PARENT))
  mounts.push(bind(STAGES.runtimeFiles, undefined, RUNTIME_FILES))
  // The check again (of the builder resolve ran in): on the build-host path nothing compiled, and
  // wheels from an index must fit too.
  const config = {
    ...fitConfig(s),
    auto_runtime_packages: s.autoRuntimePackages,
    uid: RUNTIME_UID,
    user: RUNTIME_USER
  }
  return [
    '# Stage "collect": the target\'s wheel set, the part the parent lacks, and the one layer of',
    "# installed files at the runtime image's own paths, laid out on the build host.",
    `FROM ${STAGES.runtimeNative} AS ${STAGES.collect}`,
    'ARG TARGETPLATFORM',
    'ARG SOURCE_DATE_EPOCH',
    // No network: it reads only mounted files, and a step without one starts about 0.15 s sooner.
    run(tool('collect', config), ['--network=none', ...mounts])
  ]
}

function baseStage(s: DockerfileSpec): string[] {
  return [
    '# Stage "base": the wheel-carrying image other images name as their parent.',
    `FROM ${s.fromParent ? 'parent' : s.buildFrom} AS ${STAGES.base}`,
    `COPY --from=${STAGES.collect} ${OUT}/new/ ${s.wheelDir}/`
  ]
}

export function wheelsStage(): string[] {
  return [
    '# Stage "wheels": only the wheel set (and its report), exported for the Actions cache.',
    `FROM scratch AS ${STAGES.wheels}`,
    `COPY --from=${STAGES.collect} ${OUT}/set/ /`
  ]
}

/**
 * The runtime packages collect chose (the user's, the parent's, what the wheels link to), in one
 * layer. Names come from a file collect wrote after checking each against Debian's rules. After
 * an install, the app's user is added here, after any a package added (collect adds it when
 * nothing is installed), with no date (useradd would write today's into /etc/shadow); the two
 * files are dated SOURCE_DATE_EPOCH. With nothing to install, the step is one shell test.
 */
function runtimePackagesStep(s: DockerfileSpec): string[] {
  if (!s.autoRuntimePackages && s.runtimePackages.length === 0 && !s.fromParent) return []
  const add = (file: string, line: string): string =>
    `grep -q '^[^:]*:[^:]*:${RUNTIME_UID}:' ${file} || { [ -z "$(tail -c1 ${file})" ] || echo >> ${file}; echo '${line}' >> ${file}; }; `
  const script =
    'read -r p < /wheel-slim/apt/packages || true; [ -n "$p" ] || exit 0; ' +
    'apt-get update && apt-get install -y --no-install-recommends $p && rm -rf /var/lib/apt/lists/* || exit $?; ' +
    add(
      '/etc/passwd',
      `${RUNTIME_USER}:x:${RUNTIME_UID}:${RUNTIME_UID}::/nonexistent:/usr/sbin/nologin`
    ) +
    add('/etc/group', `${RUNTIME_USER}:x:${RUNTIME_UID}:`) +
    'touch -d "@${SOURCE_DATE_EPOCH:-0}" /etc/passwd /etc/group'
  return [
    'ARG SOURCE_DATE_EPOCH',
    run(['/bin/sh', '-c', script], [bind(STAGES.collect, `${OUT}/apt`, APT)])
  ]
}

/** Named first: a --from that names no earlier stage would be read as an image. */
function runtimeImageStages(s: DockerfileSpec): string[] {
  return [
    '# Stages "runtime-image" and "runtime-native": the slim image, for the target and for the build host.',
    `FROM ${s.runtimeFrom} AS ${STAGES.runtimeImage}`,
    `FROM --platform=$BUILDPLATFORM ${s.runtimeFrom} AS ${STAGES.runtimeNative}`,
    '',
    '# Stage "runtime-files": what compile and collect read of the target\'s slim image.',
    `FROM scratch AS ${STAGES.runtimeFiles}`,
    // A wildcard that matches nothing copies nothing (an image without dpkg or apt-get is fine),
    // but a missing directory before it fails: each has its wildcard in a small directory every
    // image has, which BuildKit walks whole (so not /lib or /usr/lib: their C library is read
    // from dpkg's record of libc6, or Alpine's release file).
    `COPY --from=${STAGES.runtimeImage} /var/lib/dpkg*/statu[s] /var/lib/dpkg/`,
    `COPY --from=${STAGES.runtimeImage} /usr/bin/apt-ge[t] /usr/bin/`,
    `COPY --from=${STAGES.runtimeImage} /etc/os-releas[e] /etc/alpine-releas[e] /etc/passw[d] /etc/grou[p] /etc/`
  ]
}

export function runtimeStages(s: DockerfileSpec): string[] {
  return [
    '# Stage "runtime-base": the slim image and its runtime packages, if any.',
    `FROM ${STAGES.runtimeImage} AS ${STAGES.runtimeBase}`,
    ...runtimePackagesStep(s),
    '',
    '# Stage "runtime": the slim image plus one layer of installed files; no wheel, no compiler.',
    `FROM ${STAGES.runtimeBase} AS ${STAGES.runtime}`,
    `COPY --from=${STAGES.collect} ${LAYER}/ /`,
    `USER ${RUNTIME_UID}:${RUNTIME_UID}`,
    `ENTRYPOINT ${json(['python3', '-m', s.module])}`
  ]
}

/**
 * No "# syntax=" line: it would pull the frontend image from Docker Hub. The build argument
 * SOURCE_DATE_EPOCH (the commit time) dates every file the stages write.
 */
export function renderDockerfile(s: DockerfileSpec): string {
  const header = [
    '# Generated by wheel-slim-action. Build context: the workspace; default target: runtime.',
    `# Needs the named build contexts "${TOOLS_CONTEXT}" (the stage script)${s.wheelCache ? ` and "${WHEEL_CACHE_CONTEXT}" (restored wheels)` : ''}.`
  ]
  return (
    [
      header,
      parentStage(s),
      runtimeImageStages(s),
      ownStage(s),
      resolveStage(s),
      compileStage(s),
      collectStage(s),
      baseStage(s),
      wheelsStage(),
      runtimeStages(s)
    ]
      .filter((lines) => lines.length > 0)
      .map((lines) => lines.join('\n'))
      .join('\n\n') + '\n'
  )
}
