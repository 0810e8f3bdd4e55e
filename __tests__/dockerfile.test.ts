import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DIST_MOUNT,
  PIP_CONF_SECRET,
  REQUIREMENTS_MOUNT,
  RUNTIME_UID,
  RUNTIME_USER,
  TOOLS_CONTEXT,
  WHEEL_CACHE_CONTEXT
} from '../src/constants.js'
import { DockerfileSpec, renderDockerfile, STAGE_NAMES, STAGES } from '../src/dockerfile.js'
import {
  argsOf,
  execForm,
  flag,
  mounts,
  outsideJson,
  parseDockerfile,
  Stage,
  stage,
  TOOL,
  toolRun
} from '../__fixtures__/dockerfile.js'

const plain: DockerfileSpec = {
  buildFrom: 'python:3.12',
  fromParent: false,
  runtimeFrom: 'python:3.12-slim',
  wheelDir: '/wheeley',
  distPath: 'dist',
  packageName: 'my-app',
  ownFiles: ['my_app-1.0.0-py3-none-any.whl', 'my_app-1.0.0.tar.gz'],
  hashes: false,
  module: 'my_app',
  buildPackages: [],
  runtimePackages: [],
  autoRuntimePackages: true,
  pipArgs: [],
  extraIndex: false,
  wheelCache: false,
  buildArgNames: []
}

const PARENT_IMAGE = 'ghcr.io/org/service:1.0-base'

const TWO = ['linux/amd64', 'linux/arm/v7']

const SPECS: [string, DockerfileSpec][] = [
  ['plain', plain],
  ['two platforms listed: one resolve for both', { ...plain, platforms: TWO }],
  ['one platform listed', { ...plain, platforms: ['linux/arm64'] }],
  [
    'two platforms listed, with parent: a resolve per target',
    { ...plain, buildFrom: PARENT_IMAGE, fromParent: true, platforms: TWO }
  ],
  ['with parent', { ...plain, buildFrom: PARENT_IMAGE, fromParent: true }],
  ['with requirements', { ...plain, requirementsPath: 'requirements/pinned.txt' }],
  ['with wheelCache', { ...plain, wheelCache: true }],
  ['with extraIndex', { ...plain, extraIndex: true }],
  ['sdist only', { ...plain, ownFiles: ['my_app-1.0.0.tar.gz'] }],
  [
    'with build/runtime packages',
    { ...plain, buildPackages: ['libpq-dev', 'gcc=4:12.2.0-3'], runtimePackages: ['libpq5'] }
  ],
  ['custom wheel dir', { ...plain, wheelDir: '/opt/wheels', distPath: 'build/dist' }],
  ['pip args', { ...plain, pipArgs: ['--pre', '--only-binary', ':all:', '--x="]\\'] }],
  ['build args', { ...plain, buildArgNames: ['PIP_INDEX_URL', 'http_proxy'] }],
  ['auto-runtime-packages off', { ...plain, autoRuntimePackages: false }],
  [
    'auto-runtime-packages off, with runtime packages',
    { ...plain, autoRuntimePackages: false, runtimePackages: ['libpq5', 'zlib1g=1:1.2.13'] }
  ],
  [
    'auto-runtime-packages off, with parent',
    { ...plain, autoRuntimePackages: false, buildFrom: PARENT_IMAGE, fromParent: true }
  ],
  ['different runtime image', { ...plain, runtimeFrom: 'ghcr.io/org/slim:3.12-bookworm' }],
  [
    'hashes, with cache, parent and requirements',
    {
      ...plain,
      buildFrom: PARENT_IMAGE,
      fromParent: true,
      requirementsPath: 'requirements.txt',
      hashes: true,
      wheelCache: true
    }
  ],
  [
    'everything',
    {
      ...plain,
      buildFrom: 'registry.local:5000/base@sha256:' + 'a'.repeat(64),
      fromParent: true,
      runtimeFrom: 'debian:bookworm-slim',
      wheelDir: '/w',
      ownFiles: ['my_app-2.0-cp312-cp312-linux_armv7l.whl', 'my_app-2.0.tar.gz'],
      requirementsPath: 'req.txt',
      module: 'my_app.cli',
      buildPackages: ['build-essential'],
      runtimePackages: ['libxml2', 'libxslt1.1'],
      pipArgs: ['--prefer-binary'],
      extraIndex: true,
      wheelCache: true,
      buildArgNames: ['A', 'B_2']
    }
  ]
]

/**
 * The runtime packages step: the names come from the file collect wrote, never from argv; after
 * an install, the app's user (fixed values), the two files dated SOURCE_DATE_EPOCH.
 */
const APT_SCRIPT =
  'read -r p < /wheel-slim/apt/packages || true; [ -n "$p" ] || exit 0; ' +
  'apt-get update && apt-get install -y --no-install-recommends $p && rm -rf /var/lib/apt/lists/* || exit $?; ' +
  `grep -q '^[^:]*:[^:]*:10001:' /etc/passwd || { [ -z "$(tail -c1 /etc/passwd)" ] || echo >> /etc/passwd; echo 'app:x:10001:10001::/nonexistent:/usr/sbin/nologin' >> /etc/passwd; }; ` +
  `grep -q '^[^:]*:[^:]*:10001:' /etc/group || { [ -z "$(tail -c1 /etc/group)" ] || echo >> /etc/group; echo 'app:x:10001:' >> /etc/group; }; ` +
  'touch -d "@${SOURCE_DATE_EPOCH:-0}" /etc/passwd /etc/group'
const APT_MOUNT = 'type=bind,from=collect,source=/wheel-slim/out/apt,target=/wheel-slim/apt'
const COMPILE_SCRIPT = `[ -e /wheel-slim/resolved/complete ] || exec python3 ${TOOL} compile "$1"`
const CACHE = '/wheel-slim/cache'
const PARENT_WHEELS = '/wheel-slim/parent'

/** The mounts the design gives each stage that runs the stage script. */
function expectedMounts(s: DockerfileSpec): Record<string, string[]> {
  const tools = `type=bind,from=${TOOLS_CONTEXT},target=/wheel-slim/tools`
  const dist = `type=bind,source=${s.distPath},target=${DIST_MOUNT}`
  const req = s.requirementsPath
    ? [`type=bind,source=${s.requirementsPath},target=${REQUIREMENTS_MOUNT}`]
    : []
  const cache = `type=bind,from=${WHEEL_CACHE_CONTEXT},target=${CACHE}`
  const pipCache = s.wheelCache && !s.hashes ? [cache] : []
  // the parent's wheels: for the target platform (resolve, collect) and for the build host (own)
  const parent = s.fromParent
    ? [`type=bind,from=parent,source=${s.wheelDir},target=${PARENT_WHEELS}`]
    : []
  const parentNative = s.fromParent
    ? [`type=bind,from=parent-native,source=${s.wheelDir},target=${PARENT_WHEELS}`]
    : []
  const secret = s.extraIndex ? [`type=secret,id=${PIP_CONF_SECRET},target=/etc/pip.conf`] : []
  const out = (from: string, target: string, source = '/wheel-slim/out'): string =>
    `type=bind,from=${from},source=${source},target=${target}`
  // resolve writes each target's findings under its platform
  const resolved = out('resolve', '/wheel-slim/resolved', '/wheel-slim/out/$TARGETPLATFORM')
  return {
    own: [tools, dist, ...req, ...pipCache, ...parentNative, ...secret],
    resolve: [
      tools,
      dist,
      ...req,
      ...pipCache,
      ...parent,
      ...secret,
      // own only when it builds or pins something for resolve
      ...(s.fromParent || !s.ownFiles.some((f) => f.endsWith('-none-any.whl'))
        ? [out('own', '/wheel-slim/own')]
        : [])
    ],
    compile: [
      tools,
      dist,
      ...req,
      ...pipCache,
      ...secret,
      resolved,
      'type=bind,from=runtime-files,target=/wheel-slim/runtime-image'
    ],
    collect: [
      tools,
      resolved,
      out('compile', '/wheel-slim/compiled'),
      ...(s.wheelCache ? [cache] : []),
      ...parent,
      'type=bind,from=runtime-files,target=/wheel-slim/runtime-image'
    ]
  }
}

/** Where pip may look for wheels, stage by stage. */
function expectedFindLinks(s: DockerfileSpec): Record<string, string[]> {
  // With hashes, pip only gets what it can check: no cache, no parent wheels.
  const cache = s.wheelCache && !s.hashes ? [CACHE] : []
  const parent = (dir: string): string[] => (s.fromParent && !s.hashes ? [dir] : [])
  return {
    own: [DIST_MOUNT, ...cache, ...parent(PARENT_WHEELS)],
    resolve: [DIST_MOUNT, ...cache, ...parent(PARENT_WHEELS)],
    compile: [DIST_MOUNT, ...cache, ...parent(s.wheelDir)]
  }
}

const sorted = (a: string[]): string[] => [...a].sort()

/** One resolve step for every target: the platforms are listed, and no parent's wheels differ per target. */
const shared = (s: DockerfileSpec): boolean => !s.fromParent && (s.platforms?.length ?? 0) > 1

/** The runtime-base RUN is left out only when nothing could ever be installed. */
const installsPackages = (s: DockerfileSpec): boolean =>
  s.autoRuntimePackages || s.runtimePackages.length > 0 || s.fromParent

/** Every string anywhere in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings)
  return []
}

describe.each(SPECS)('renderDockerfile: %s', (_name, spec) => {
  const text = renderDockerfile(spec)
  const df = parseDockerfile(text)
  const st = (name: string): Stage => stage(df, name)

  test('the stages in order, "parent" and "parent-native" first when there is a parent, runtime last', () => {
    expect(df.stages.map((s) => s.name)).toEqual([
      ...(spec.fromParent ? ['parent', 'parent-native'] : []),
      'runtime-image',
      'runtime-native',
      'runtime-files',
      'own',
      'resolve',
      'compile',
      'collect',
      'base',
      'wheels',
      'runtime-base',
      'runtime'
    ])
    expect(
      df.stages.map((s) => s.name).filter((n) => n !== 'parent' && n !== 'parent-native')
    ).toEqual(STAGE_NAMES)
    expect(df.instructions[0]?.keyword).toBe('FROM')
    expect(df.stages.flatMap((s) => s.instructions)).toEqual(df.instructions)
  })

  test('FROM lines: build-host stages on $BUILDPLATFORM, compile and base on the parent', () => {
    const from = (s: Stage): [string | null, string[]] => [
      s.from,
      flag(s.instructions[0] as Stage['instructions'][number], 'platform')
    ]
    const onHost = ['$BUILDPLATFORM']
    const wheelImage = spec.fromParent ? 'parent' : spec.buildFrom
    const expected: Record<string, [string, string[]]> = {
      ...(spec.fromParent
        ? { parent: [spec.buildFrom, []], 'parent-native': [spec.buildFrom, onHost] }
        : {}),
      own: [spec.buildFrom, onHost],
      resolve: [spec.buildFrom, onHost],
      compile: [wheelImage, []],
      collect: ['runtime-native', []],
      base: [wheelImage, []],
      'runtime-image': [spec.runtimeFrom, []],
      'runtime-native': [spec.runtimeFrom, onHost],
      'runtime-files': ['scratch', []],
      wheels: ['scratch', []],
      'runtime-base': ['runtime-image', []],
      runtime: ['runtime-base', []]
    }
    expect(Object.fromEntries(df.stages.map((s) => [s.name, from(s)]))).toEqual(expected)
    const froms = df.instructions.filter((i) => i.keyword === 'FROM')
    expect(froms.flatMap((i) => i.flags.map((f) => f.name)).every((n) => n === 'platform')).toBe(
      true
    )
  })

  test('every RUN and ENTRYPOINT is exec form; RUN flags are mounts, and collect has no network', () => {
    const execs = df.instructions.filter((i) => i.keyword === 'RUN' || i.keyword === 'ENTRYPOINT')
    expect(execs.length).toBeGreaterThan(0)
    for (const i of execs) {
      expect(() => execForm(i)).not.toThrow()
      const collect = st('collect').instructions.includes(i)
      expect(i.flags.filter((f) => f.name !== 'mount')).toEqual(
        collect ? [{ name: 'network', value: 'none' }] : []
      )
    }
  })

  test.each(['own', 'resolve', 'compile', 'collect'])(
    'stage %s runs the stage script with its own sub-command',
    (name) => {
      const run = toolRun(st(name))
      expect(run.command).toBe(name)
      if (name === 'compile') {
        expect(run.argv.slice(0, 4)).toEqual(['/bin/sh', '-c', COMPILE_SCRIPT, 'compile'])
        expect(run.argv).toHaveLength(5)
      } else {
        expect(run.argv.slice(0, 3)).toEqual(['python3', TOOL, name])
        expect(run.argv).toHaveLength(4)
      }
      expect(st(name).instructions.filter((i) => i.keyword === 'RUN')).toHaveLength(1)
    }
  )

  test.each(['own', 'resolve', 'compile', 'collect'])(
    'stage %s mounts exactly what it needs',
    (name) => {
      expect(sorted(mounts(toolRun(st(name)).instruction))).toEqual(
        sorted(expectedMounts(spec)[name] ?? [])
      )
    }
  )

  test.each(['own', 'resolve', 'compile'])(
    'stage %s: the pip configuration, the own files by name, no name==version',
    (name) => {
      const { config } = toolRun(st(name))
      expect(config).toEqual({
        // resolve gathers for every target listed, when it serves them all
        ...(name === 'resolve' && shared(spec) ? { platforms: spec.platforms } : {}),
        dist: DIST_MOUNT,
        name: spec.packageName,
        own: spec.ownFiles,
        find_links: expectedFindLinks(spec)[name],
        requirements: spec.requirementsPath ? REQUIREMENTS_MOUNT : null,
        hashes: spec.hashes,
        pip_args: spec.pipArgs,
        // own leaves a package that needs build packages to the target
        ...(name === 'own' ? { build_packages: spec.buildPackages } : {}),
        // compile first checks that the runtime image fits the builder
        ...(name === 'compile'
          ? {
              build_packages: spec.buildPackages,
              builder_image: spec.buildFrom,
              runtime_image: spec.runtimeFrom,
              runtime_packages: spec.runtimePackages
            }
          : {})
      })
      expect(strings(config).filter((v) => v.includes('=='))).toEqual([])
    }
  )

  test('no requirement pins the package by name and version anywhere', () => {
    expect(text).not.toMatch(/my[-_]app\s*==/i)
    expect(text).not.toContain('==')
  })

  test("collect: the builder, the runtime image and packages, and the app's user", () => {
    expect(toolRun(st('collect')).config).toEqual({
      builder_image: spec.buildFrom,
      runtime_image: spec.runtimeFrom,
      runtime_packages: spec.runtimePackages,
      auto_runtime_packages: spec.autoRuntimePackages,
      uid: RUNTIME_UID,
      user: RUNTIME_USER
    })
  })

  test('ARG: build arguments where pip runs, TARGETPLATFORM where a step reads it', () => {
    const declared: Record<string, string[]> = Object.fromEntries(
      df.stages.map((s) => [s.name ?? '', argsOf(s, 'ARG')])
    )
    for (const name of ['own', 'resolve', 'compile']) {
      expect(declared[name]?.filter((a) => spec.buildArgNames.includes(a))).toEqual(
        spec.buildArgNames
      )
    }
    for (const s of df.stages.filter(
      (x) => !['own', 'resolve', 'compile'].includes(x.name ?? '')
    )) {
      expect(argsOf(s, 'ARG').filter((a) => spec.buildArgNames.includes(a))).toEqual([])
    }
    // compile and collect mount their target's part of resolve; a resolve per target reads it,
    // one for every target must not (BuildKit then runs it once)
    expect(declared['compile']).toContain('TARGETPLATFORM')
    expect(declared['collect']).toContain('TARGETPLATFORM')
    expect(declared['resolve']?.includes('TARGETPLATFORM')).toBe(!shared(spec))
    expect(toolRun(st('resolve')).instruction.args).not.toContain('TARGETPLATFORM')
    // ARG lines declare names, never values
    expect(df.instructions.filter((i) => i.keyword === 'ARG' && /[=\s]/.test(i.args))).toEqual([])
    // declared before the RUN that needs them
    for (const name of ['own', 'resolve', 'compile']) {
      const keywords = st(name).instructions.map((i) => i.keyword)
      expect(keywords.lastIndexOf('ARG')).toBeLessThan(keywords.indexOf('RUN'))
    }
  })

  test('compile works in its output directory; the guard script is the same for every spec', () => {
    expect(argsOf(st('compile'), 'WORKDIR')).toEqual(['/wheel-slim/out/wheels'])
    expect(df.instructions.filter((i) => i.keyword === 'WORKDIR')).toHaveLength(1)
  })

  test('base, wheels and runtime only copy what collect made; runtime-files a few files', () => {
    const copies = (s: Stage): [string[], string][] =>
      s.instructions.filter((i) => i.keyword === 'COPY').map((i) => [flag(i, 'from'), i.args])
    expect(copies(st('runtime-files'))).toEqual([
      [['runtime-image'], '/var/lib/dpkg*/statu[s] /var/lib/dpkg/'],
      [['runtime-image'], '/usr/bin/apt-ge[t] /usr/bin/'],
      [
        ['runtime-image'],
        '/etc/os-releas[e] /etc/alpine-releas[e] /etc/passw[d] /etc/grou[p] /etc/'
      ]
    ])
    expect(copies(st('base'))).toEqual([[['collect'], `/wheel-slim/out/new/ ${spec.wheelDir}/`]])
    expect(copies(st('wheels'))).toEqual([[['collect'], '/wheel-slim/out/set/ /']])
    expect(copies(st('runtime'))).toEqual([[['collect'], '/wheel-slim/layer/ /']])
    expect(st('wheels').instructions.map((i) => i.keyword)).toEqual(['FROM', 'COPY'])
    expect(df.instructions.filter((i) => i.keyword === 'COPY')).toHaveLength(6)
    expect(df.instructions.filter((i) => i.keyword === 'ADD')).toEqual([])
  })

  test('runtime: no RUN, a non-root USER, then ENTRYPOINT ["python3", "-m", module] last', () => {
    const runtime = st('runtime')
    expect(runtime.instructions.map((i) => i.keyword)).toEqual([
      'FROM',
      'COPY',
      'USER',
      'ENTRYPOINT'
    ])
    expect(argsOf(runtime, 'USER')).toEqual([`${RUNTIME_UID}:${RUNTIME_UID}`])
    const [user, group] = (argsOf(runtime, 'USER')[0] ?? '').split(':')
    expect(['root', '0']).not.toContain(user)
    expect(['root', '0']).not.toContain(group)
    const last = df.instructions.at(-1)
    expect(last?.keyword).toBe('ENTRYPOINT')
    expect(last && execForm(last)).toEqual(['python3', '-m', spec.module])
    expect(df.instructions.filter((i) => i.keyword === 'ENTRYPOINT')).toHaveLength(1)
    expect(df.instructions.filter((i) => i.keyword === 'CMD')).toEqual([])
  })

  test('runtime packages: one RUN in runtime-base that reads what collect chose, no name in it', () => {
    const apt = df.instructions
      .filter((i) => i.keyword === 'RUN')
      .map(execForm)
      .filter((argv) => argv[0] === '/bin/sh' && argv[3] !== 'compile')
    const runtimeBase = st('runtime-base')
    if (!installsPackages(spec)) {
      expect(apt).toEqual([])
      expect(runtimeBase.instructions.map((i) => i.keyword)).toEqual(['FROM'])
      return
    }
    expect(apt).toEqual([['/bin/sh', '-c', APT_SCRIPT]])
    expect(runtimeBase.instructions.map((i) => i.keyword)).toEqual(['FROM', 'ARG', 'RUN'])
    expect(argsOf(runtimeBase, 'ARG')).toEqual(['SOURCE_DATE_EPOCH'])
    expect(mounts(runtimeBase.instructions[2] as Stage['instructions'][number])).toEqual([
      APT_MOUNT
    ])
  })

  test('runtime package names travel only in the compile and collect configurations', () => {
    for (const name of spec.runtimePackages) {
      const lines = text.split('\n').filter((l) => l.includes(name))
      expect(lines).toHaveLength(2)
      const runs = df.stages.filter((s) =>
        s.instructions.some((i) => i.keyword === 'RUN' && i.args.includes(name))
      )
      expect(runs.map((s) => s.name)).toEqual(['compile', 'collect'])
      for (const s of runs) expect(toolRun(s).config['runtime_packages']).toContain(name)
    }
  })

  test('every stage a FROM, COPY --from or mount names is defined earlier in the file', () => {
    // BuildKit reads a --from or FROM naming no earlier stage as an image to pull.
    const contexts = new Set([TOOLS_CONTEXT, WHEEL_CACHE_CONTEXT])
    const seen: string[] = []
    const late: string[] = []
    for (const s of df.stages) {
      const named = [
        s.from ?? '',
        ...s.instructions.flatMap((i) => flag(i, 'from')),
        ...s.instructions
          .flatMap(mounts)
          .map((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1] ?? '')
          .filter((f) => f !== '' && !contexts.has(f))
      ].filter((n) => STAGE_NAMES.includes(n) || n === 'parent' || n === 'parent-native')
      late.push(...named.filter((n) => !seen.includes(n)).map((n) => `${s.name ?? '?'} → ${n}`))
      seen.push(s.name ?? '')
    }
    expect(late).toEqual([])
  })

  test('runtime-image, runtime-native and runtime-files come before own, right after the optional parent stages', () => {
    const names = df.stages.map((s) => s.name)
    const first = spec.fromParent ? 2 : 0
    expect(names.slice(first, first + 4)).toEqual([
      'runtime-image',
      'runtime-native',
      'runtime-files',
      'own'
    ])
    // only FROM: the slim image as it is, for the target and for the build host
    expect(st('runtime-image').instructions.map((i) => i.keyword)).toEqual(['FROM'])
    expect(st('runtime-native').instructions.map((i) => i.keyword)).toEqual(['FROM'])
  })

  test('the secret mount only with extraIndex, only where pip runs, and no URL anywhere', () => {
    const secretIn = df.stages
      .filter((s) => s.instructions.flatMap(mounts).some((m) => m.startsWith('type=secret')))
      .map((s) => s.name)
    expect(secretIn).toEqual(spec.extraIndex ? ['own', 'resolve', 'compile'] : [])
    expect(text).not.toMatch(/:\/\//)
    expect(text).not.toMatch(/https?:/i)
  })

  test('no "# syntax=" line and no parser directive', () => {
    expect(df.directives).toEqual([])
    expect(text).not.toMatch(/^\s*#\s*(syntax|escape|check)\s*=/im)
  })

  test('only FROM, ARG, WORKDIR, RUN, COPY, USER, ENTRYPOINT; no ENV, no shell form', () => {
    const allowed = new Set(['FROM', 'ARG', 'WORKDIR', 'RUN', 'COPY', 'USER', 'ENTRYPOINT'])
    expect(df.instructions.filter((i) => !allowed.has(i.keyword))).toEqual([])
  })

  test('the header names the build contexts the file needs', () => {
    const header = df.comments.slice(0, 2).join('\n')
    expect(header).toContain(`"${TOOLS_CONTEXT}"`)
    expect(header.includes(`"${WHEEL_CACHE_CONTEXT}"`)).toBe(spec.wheelCache)
    const named = df.instructions
      .flatMap(mounts)
      .map((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1])
      .filter((f): f is string => f !== undefined && !df.stages.some((s) => s.name === f))
    expect([...new Set(named)].sort()).toEqual(
      [TOOLS_CONTEXT, ...(spec.wheelCache ? [WHEEL_CACHE_CONTEXT] : [])].sort()
    )
  })

  test('outside JSON strings, the only "$" are $BUILDPLATFORM and the mounts of $TARGETPLATFORM', () => {
    const outside = outsideJson(text)
    expect(outside.match(/source=[^,]*\$TARGETPLATFORM/g)).toEqual([
      'source=/wheel-slim/out/$TARGETPLATFORM',
      'source=/wheel-slim/out/$TARGETPLATFORM'
    ])
    expect(
      outside
        .replace(/\$BUILDPLATFORM\b/g, '')
        .replace(/source=\/wheel-slim\/out\/\$TARGETPLATFORM,/g, '')
    ).not.toContain('$')
  })
})

/** The skeleton: everything but the JSON strings. */
const skeleton = (s: DockerfileSpec): string => outsideJson(renderDockerfile(s))

describe('renderDockerfile', () => {
  test('values that travel only in JSON strings leave the rest of the file unchanged', () => {
    const hostile = {
      ownFiles: ['x-1.0-"]\nRUN evil\\-py3-none-any.whl', "y-2.0-$(id)'`.tar.gz"],
      module: 'a.b"]\nRUN x',
      buildPackages: ['gcc', '"]\nUSER root'],
      pipArgs: ['--x="]\\', '\nRUN evil', '${HOME}'],
      runtimePackages: ['libpq5', '$(id)']
    }
    const base = { ...plain, runtimePackages: ['libpq5'] }
    const changed = { ...base, ...hostile }
    expect(skeleton(changed)).toEqual(skeleton(base))
    const df = parseDockerfile(renderDockerfile(changed))
    expect(toolRun(stage(df, 'own')).config['own']).toEqual(hostile.ownFiles)
    expect(toolRun(stage(df, 'compile')).config['pip_args']).toEqual(hostile.pipArgs)
    expect(toolRun(stage(df, 'compile')).config['build_packages']).toEqual(hostile.buildPackages)
    for (const name of ['compile', 'collect']) {
      expect(toolRun(stage(df, name)).config['runtime_packages']).toEqual(hostile.runtimePackages)
    }
    // not even inside another JSON string: the runtime-base RUN is the fixed script
    expect(
      stage(df, 'runtime-base')
        .instructions.filter((i) => i.keyword === 'RUN')
        .map(execForm)
    ).toEqual([['/bin/sh', '-c', APT_SCRIPT]])
    const last = df.instructions.at(-1)
    expect(last && execForm(last)).toEqual(['python3', '-m', hostile.module])
  })

  test('the skeleton is also unchanged by the own files and hashes flag alone', () => {
    expect(skeleton({ ...plain, ownFiles: ['other-2.0-py3-none-any.whl'] })).toEqual(
      skeleton(plain)
    )
    // without a pure wheel, resolve also waits for own (its one line more)
    const sdistOnly = skeleton({ ...plain, ownFiles: ['my_app-1.0.0.tar.gz'] }).split('\n')
    expect(sdistOnly.filter((l) => !skeleton(plain).split('\n').includes(l))).toEqual([
      '    --mount=type=bind,from=own,source=/wheel-slim/out,target=/wheel-slim/own \\'
    ])
    // hashes without a cache or parent changes nothing but the JSON
    expect(skeleton({ ...plain, hashes: true })).toEqual(skeleton(plain))
  })

  test('hashes drop the cache mount and cache/parent find-links where pip runs', () => {
    const loose: DockerfileSpec = { ...plain, wheelCache: true, fromParent: true }
    const strict: DockerfileSpec = { ...loose, hashes: true }
    const links = (s: DockerfileSpec, name: string): unknown =>
      toolRun(stage(parseDockerfile(renderDockerfile(s)), name)).config['find_links']
    expect(links(loose, 'own')).toEqual([DIST_MOUNT, CACHE, PARENT_WHEELS])
    expect(links(loose, 'resolve')).toEqual([DIST_MOUNT, CACHE, PARENT_WHEELS])
    expect(links(loose, 'compile')).toEqual([DIST_MOUNT, CACHE, loose.wheelDir])
    for (const name of ['own', 'resolve', 'compile']) {
      expect(links(strict, name)).toEqual([DIST_MOUNT])
      const m = mounts(toolRun(stage(parseDockerfile(renderDockerfile(strict)), name)).instruction)
      expect(m.filter((x) => x.includes(`from=${WHEEL_CACHE_CONTEXT}`))).toEqual([])
    }
  })

  test('a parent adds the "parent" and "parent-native" stages and moves compile and base onto it', () => {
    const own = parseDockerfile(renderDockerfile(plain))
    const child = parseDockerfile(
      renderDockerfile({ ...plain, buildFrom: PARENT_IMAGE, fromParent: true })
    )
    expect(child.stages.map((s) => s.name)).toEqual([
      'parent',
      'parent-native',
      ...own.stages.map((s) => s.name)
    ])
    expect(stage(child, 'parent').from).toBe(PARENT_IMAGE)
    expect(stage(child, 'parent').instructions).toHaveLength(1)
    // parent-native: the same image for the build host
    const native = stage(child, 'parent-native')
    expect(native.from).toBe(PARENT_IMAGE)
    expect(native.instructions).toHaveLength(1)
    expect(flag(native.instructions[0] as Stage['instructions'][number], 'platform')).toEqual([
      '$BUILDPLATFORM'
    ])
    expect(
      flag(stage(child, 'parent').instructions[0] as Stage['instructions'][number], 'platform')
    ).toEqual([])
    expect(stage(child, 'compile').from).toBe('parent')
    expect(stage(child, 'base').from).toBe('parent')
    for (const name of ['own', 'resolve']) {
      expect(stage(child, name).from).toBe(PARENT_IMAGE)
    }
    expect(stage(child, 'collect').from).toBe('runtime-native')
    // the parent's wheels are offered to own (the build host's, from parent-native), resolve
    // (the target's, from parent, on the build host) and compile (in place, no mount)
    const parentMounts = (name: string): string[] =>
      mounts(toolRun(stage(child, name)).instruction).filter((m) => m.endsWith(PARENT_WHEELS))
    expect(parentMounts('own')).toEqual([
      `type=bind,from=parent-native,source=${plain.wheelDir},target=${PARENT_WHEELS}`
    ])
    expect(parentMounts('resolve')).toEqual([
      `type=bind,from=parent,source=${plain.wheelDir},target=${PARENT_WHEELS}`
    ])
    expect(parentMounts('compile')).toEqual([])
    expect(toolRun(stage(child, 'own')).config['find_links']).toContain(PARENT_WHEELS)
    expect(toolRun(stage(child, 'resolve')).config['find_links']).toContain(PARENT_WHEELS)
    expect(toolRun(stage(child, 'compile')).config['find_links']).toContain(plain.wheelDir)
    expect(toolRun(stage(own, 'own')).config['find_links']).not.toContain(PARENT_WHEELS)
    expect(toolRun(stage(own, 'compile')).config['find_links']).not.toContain(plain.wheelDir)
  })

  test('the runtime packages step is the same whatever the packages; build packages never reach it', () => {
    const runtimeBase = (spec: DockerfileSpec): string[] =>
      stage(parseDockerfile(renderDockerfile(spec)), 'runtime-base').instructions.map(
        (i) =>
          `${i.keyword} ${i.flags.map((f) => `--${f.name}=${f.value ?? ''}`).join(' ')} ${i.args}`
      )
    const a = runtimeBase({ ...plain, buildPackages: ['gcc'], runtimePackages: ['libpq5'] })
    const b = runtimeBase({ ...plain, buildPackages: ['libxml2-dev'], runtimePackages: ['zlib1g'] })
    const none = runtimeBase(plain)
    expect(a).toEqual(b)
    expect(a).toEqual(none)
    expect(a.join('\n')).not.toMatch(/libpq5|zlib1g|gcc|libxml2/)
    expect(a.join('\n')).toContain(JSON.stringify(APT_SCRIPT))
  })

  // Which specs get the runtime packages step: [auto, runtime packages, parent, RUN].
  test.each<[boolean, string[], boolean, boolean]>([
    [true, [], false, true],
    [true, ['libpq5'], false, true],
    [true, [], true, true],
    [true, ['libpq5'], true, true],
    [false, [], false, false],
    [false, ['libpq5'], false, true],
    [false, [], true, true],
    [false, ['libpq5', 'zlib1g'], true, true]
  ])(
    'auto-runtime-packages %s, runtime packages %j, parent %s: runtime-base RUN %s',
    (auto, runtimePackages, fromParent, present) => {
      const spec: DockerfileSpec = {
        ...plain,
        autoRuntimePackages: auto,
        runtimePackages,
        fromParent,
        buildFrom: fromParent ? PARENT_IMAGE : plain.buildFrom
      }
      const df = parseDockerfile(renderDockerfile(spec))
      const runtimeBase = stage(df, 'runtime-base')
      const runs = runtimeBase.instructions.filter((i) => i.keyword === 'RUN')
      expect(runs.map(execForm)).toEqual(present ? [['/bin/sh', '-c', APT_SCRIPT]] : [])
      expect(runs.flatMap(mounts)).toEqual(present ? [APT_MOUNT] : [])
      expect(runtimeBase.from).toBe('runtime-image')
      // collect is told the same, whatever the step
      expect(toolRun(stage(df, 'collect')).config).toEqual({
        builder_image: spec.buildFrom,
        runtime_image: spec.runtimeFrom,
        runtime_packages: runtimePackages,
        auto_runtime_packages: auto,
        uid: RUNTIME_UID,
        user: RUNTIME_USER
      })
    }
  )

  test('compile and collect are told the builder, the runtime image and the runtime packages', () => {
    const spec: DockerfileSpec = {
      ...plain,
      buildFrom: 'registry.local:5000/python:3.11',
      runtimeFrom: 'registry.local:5000/python:3.11-slim',
      runtimePackages: ['libpq5', 'libxml2=2.9.14+dfsg-1.3']
    }
    const df = parseDockerfile(renderDockerfile(spec))
    const compile = toolRun(stage(df, 'compile'))
    expect(toolRun(stage(df, 'collect')).config).toMatchObject({
      builder_image: 'registry.local:5000/python:3.11',
      runtime_image: 'registry.local:5000/python:3.11-slim'
    })
    expect(compile.config).toMatchObject({
      builder_image: 'registry.local:5000/python:3.11',
      runtime_image: 'registry.local:5000/python:3.11-slim',
      runtime_packages: ['libpq5', 'libxml2=2.9.14+dfsg-1.3']
    })
    // compile checks before it compiles (in the builder, on the target), reading a few files of
    // the runtime image
    expect(stage(df, 'compile').from).toBe(spec.buildFrom)
    expect(mounts(compile.instruction)).toContain(
      'type=bind,from=runtime-files,target=/wheel-slim/runtime-image'
    )
    // the slim image for the target is what collect reads the installed packages from
    expect(mounts(toolRun(stage(df, 'collect')).instruction)).toContain(
      'type=bind,from=runtime-files,target=/wheel-slim/runtime-image'
    )
    expect(stage(df, 'runtime-image').from).toBe(spec.runtimeFrom)
    expect(stage(df, 'runtime-native').from).toBe(spec.runtimeFrom)
    expect(
      flag(stage(df, 'runtime-native').instructions[0] as Stage['instructions'][number], 'platform')
    ).toEqual(['$BUILDPLATFORM'])
    expect(
      flag(stage(df, 'runtime-image').instructions[0] as Stage['instructions'][number], 'platform')
    ).toEqual([])
  })

  // The step as /bin/sh runs it, with its fixed paths moved into a temp directory and a fake
  // apt-get on PATH: [what collect wrote (undefined: no file), the apt-get calls].
  const USER_LINE = 'app:x:10001:10001::/nonexistent:/usr/sbin/nologin'
  function runtimeBaseStep(
    written: string | undefined,
    etc: { passwd: string; group: string }
  ): { calls: string[]; listsKept: boolean; passwd: string; group: string; mtimes: number[] } {
    const dir = mkdtempSync(join(tmpdir(), 'wsa-apt-'))
    try {
      const paths: Record<string, string> = {
        '/wheel-slim/apt/packages': join(dir, 'packages'),
        '/var/lib/apt/lists/*': `${join(dir, 'lists')}/*`,
        '/etc/passwd': join(dir, 'passwd'),
        '/etc/group': join(dir, 'group')
      }
      let script = APT_SCRIPT
      for (const [from, to] of Object.entries(paths)) {
        expect(script.includes(from)).toBe(true)
        script = script.split(from).join(to)
      }
      mkdirSync(join(dir, 'bin'))
      mkdirSync(join(dir, 'lists'))
      writeFileSync(join(dir, 'lists', 'index'), 'x')
      writeFileSync(join(dir, 'passwd'), etc.passwd)
      writeFileSync(join(dir, 'group'), etc.group)
      writeFileSync(
        join(dir, 'bin', 'apt-get'),
        `#!/bin/sh\necho "$*" >> ${JSON.stringify(join(dir, 'calls'))}\n`,
        { mode: 0o755 }
      )
      if (written !== undefined) writeFileSync(join(dir, 'packages'), written)
      execFileSync('/bin/sh', ['-c', script], {
        env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, SOURCE_DATE_EPOCH: '1700000000' },
        stdio: 'pipe'
      })
      const calls = existsSync(join(dir, 'calls'))
        ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')
        : []
      return {
        calls,
        listsKept: existsSync(join(dir, 'lists', 'index')),
        passwd: readFileSync(join(dir, 'passwd'), 'utf8'),
        group: readFileSync(join(dir, 'group'), 'utf8'),
        mtimes: ['passwd', 'group'].map((f) => statSync(join(dir, f)).mtimeMs / 1000)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const ETC = { passwd: 'root:x:0:0:root:/root:/bin/bash\n', group: 'root:x:0:\n' }

  test.each<[string, string | undefined, string[]]>([
    [
      'two names, no trailing newline',
      'libpq5 zlib1g=1:1.2.13',
      ['update', 'install -y --no-install-recommends libpq5 zlib1g=1:1.2.13']
    ],
    ['one name and a newline', 'libpq5\n', ['update', 'install -y --no-install-recommends libpq5']],
    ['an empty file: nothing to install, no apt-get update', '', []],
    ['no file at all', undefined, []]
  ])('the runtime packages step: %s', (_name, written, expected) => {
    const r = runtimeBaseStep(written, ETC)
    expect(r.calls).toEqual(expected)
    // the apt lists are removed only after an install
    expect(r.listsKept).toBe(expected.length === 0)
    if (expected.length === 0) {
      // nothing installed: the files untouched (collect adds the user)
      expect([r.passwd, r.group]).toEqual([ETC.passwd, ETC.group])
      expect(r.mtimes).not.toContain(1700000000)
      return
    }
    // after an install, the user is added here, the files dated SOURCE_DATE_EPOCH
    expect(r.passwd).toBe(`${ETC.passwd}${USER_LINE}\n`)
    expect(r.group).toBe(`${ETC.group}app:x:10001:\n`)
    expect(r.mtimes).toEqual([1700000000, 1700000000])
  })

  test('the runtime packages step: a file without a last newline gets one; a uid already there is kept', () => {
    const r = runtimeBaseStep('libpq5', {
      passwd: 'root:x:0:0:root:/root:/bin/bash',
      group: 'root:x:0:\nsvc:x:10001:\n'
    })
    expect(r.passwd).toBe(`root:x:0:0:root:/root:/bin/bash\n${USER_LINE}\n`)
    expect(r.group).toBe('root:x:0:\nsvc:x:10001:\n')
  })

  // "The build argument SOURCE_DATE_EPOCH (the commit time) dates every file the stages write":
  // a RUN sees a build argument only when its stage declares it. own builds the package's
  // wheel (it ends up in the base image and the wheel set), compile builds wheels, collect
  // writes the trees that become layers, runtime-base the user's lines.
  test.each(['own', 'compile', 'collect', 'runtime-base'])(
    'stage %s, which writes files that end up in an image, declares SOURCE_DATE_EPOCH',
    (name) => {
      const df = parseDockerfile(renderDockerfile(plain))
      expect(argsOf(stage(df, name), 'ARG')).toContain('SOURCE_DATE_EPOCH')
    }
  )

  test('instructions start at column 0; continuation lines hold only mounts and the argv', () => {
    const spec = SPECS[SPECS.length - 1]?.[1] ?? plain
    const text = renderDockerfile(spec)
    const lines = text.split('\n')
    const starts = lines.filter((l) => /^[A-Z]/.test(l))
    expect(starts).toHaveLength(parseDockerfile(text).instructions.length)
    const continued = lines.filter((x) => /^\s/.test(x))
    expect(continued.length).toBeGreaterThan(0)
    for (const l of continued) expect(l).toMatch(/^ {4}(--mount=\S+ \\|\[.*\])$/s)
    expect(text.endsWith('\n')).toBe(true)
    expect(text).not.toMatch(/\n\n\n/)
  })

  test('STAGES and STAGE_NAMES agree', () => {
    expect(STAGE_NAMES).toEqual(Object.values(STAGES))
    expect(new Set(STAGE_NAMES).size).toBe(STAGE_NAMES.length)
  })
})
