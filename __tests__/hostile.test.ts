/**
 * The property behind "no input can inject an instruction or a shell command": whatever string
 * lands in whichever input, parseInputs + makePlan either refuse it with an InputError or
 * produce a plan whose Dockerfile has the designed shape, whose user values stay inside JSON
 * strings (or, for images, paths and argument names, in exactly their designed place), and
 * whose build argv and cache keys stay argv and keys.
 */
import { describe, expect, test } from '@jest/globals'
import { Keyword } from 'dockerfile-ast'
import fc from 'fast-check'
import { bakeDefinition, buildArgv, Delivery } from '../src/buildx.js'
import {
  DIST_MOUNT,
  INPUT_NAMES,
  InputName,
  PIP_CONF_SECRET,
  REQUIREMENTS_MOUNT,
  RUNTIME_UID,
  RUNTIME_USER,
  TOOLS_CONTEXT,
  WHEEL_CACHE_CONTEXT
} from '../src/constants.js'
import { DockerfileSpec, renderDockerfile } from '../src/dockerfile.js'
import { BuildPlan } from '../src/plan.js'
import { InputError } from '../src/validate.js'
import { cacheKeys, platformSlug, saveKey } from '../src/wheel-cache-keys.js'
import {
  execForm,
  flag,
  mounts,
  outsideJson,
  parseDockerfile,
  ParsedInstruction,
  toolRun
} from '../__fixtures__/dockerfile.js'
import { plan, RawInputs } from '../__fixtures__/inputs.js'

const NUM_RUNS = 400
const BASE: RawInputs = { image: 'ghcr.io/org/app' }
const baseline = plan(BASE)
const baselineDf = parseDockerfile(baseline.dockerfile)
const ALL_KEYWORDS = new Set<string>(Object.values(Keyword))
const SECRET_MESSAGE =
  'Input "extra-index-url": "***" is not valid; expected an http(s) URL of a package index.'
/** Inputs whose validated values are written outside JSON strings, each in a designed place. */
const OUTSIDE_BY_DESIGN = new Set<InputName>([
  'builder-image',
  'runtime-image',
  'parent',
  'python-version',
  'wheel-dir',
  'dist',
  'requirements',
  'build-args'
])

const FRAGMENTS = [
  '\n',
  '\r',
  'RUN ',
  '$(',
  '${',
  '%{',
  '$${',
  '`',
  ';',
  '&&',
  '"',
  "'",
  '\\',
  ']',
  '--mount',
  '# syntax=',
  '\u0000',
  ' ',
  ',',
  '=',
  '/',
  ':',
  '\u2028',
  '\\\n'
]
// Starts that pass some input's validation, so the hostile tail gets as far as it can.
const PREFIXES = [
  '',
  'x',
  'my_app',
  'my-app',
  '--pre ',
  '--pre',
  'A=',
  'org.label=',
  'https://u:tok@example.org/simple',
  'type=gha,',
  'ghcr.io/org/app',
  'ghcr.io/org/app:',
  'linux/amd64,',
  'libpq-dev ',
  '/wheeley',
  'dist/',
  'python:3.12',
  '3.1',
  'true',
  'host',
  'none',
  'base',
  'compile,',
  '-base'
]

const hostile = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4 })), {
      maxLength: 6
    })
  )
  .map(([prefix, parts]) => prefix + parts.join(''))

const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  hostile,
  hostile
)

/** A line break or NUL: what would split a log line, a Dockerfile line or an exec argv. */
const breaks = (s: string): boolean => /[\n\r]/.test(s) || s.includes('\u0000')

const count = (text: string, part: string): number => text.split(part).length - 1

/** The stage names and keywords the design gives this spec, from the baseline's. */
function expectedShape(s: DockerfileSpec): [string, string[]][] {
  const shape = baselineDf.stages.map((st): [string, string[]] => {
    const keywords = st.instructions.map((i) => i.keyword)
    const name = st.name ?? ''
    if (name === 'resolve') {
      // TARGETPLATFORM only in a resolve per target: one for every listed target must not read it
      const shared = !s.fromParent && (s.platforms?.length ?? 0) > 1
      const args = (shared ? 1 : 2) + s.buildArgNames.length
      return [name, ['FROM', ...Array<string>(args).fill('ARG'), 'RUN']]
    }
    if (['own', 'compile'].includes(name)) {
      const at = keywords.lastIndexOf('ARG') + 1
      keywords.splice(at, 0, ...s.buildArgNames.map(() => 'ARG'))
    }
    if (name === 'runtime-base') {
      // the runtime packages step is left out only when nothing could ever be installed
      const installs = s.autoRuntimePackages || s.runtimePackages.length > 0 || s.fromParent
      return [name, ['FROM', ...(installs ? ['ARG', 'RUN'] : [])]]
    }
    return [name, keywords]
  })
  return s.fromParent ? [['parent', ['FROM']], ['parent-native', ['FROM']], ...shape] : shape
}

/** Every mount the design allows for this spec: user values only in their slot. */
function allowedMounts(s: DockerfileSpec): Set<string> {
  const out = (from: string, target: string, source = '/wheel-slim/out'): string =>
    `type=bind,from=${from},source=${source},target=${target}`
  return new Set([
    `type=bind,from=${TOOLS_CONTEXT},target=/wheel-slim/tools`,
    `type=bind,source=${s.distPath},target=${DIST_MOUNT}`,
    ...(s.requirementsPath
      ? [`type=bind,source=${s.requirementsPath},target=${REQUIREMENTS_MOUNT}`]
      : []),
    ...(s.wheelCache ? [`type=bind,from=${WHEEL_CACHE_CONTEXT},target=/wheel-slim/cache`] : []),
    ...(s.fromParent
      ? [
          `type=bind,from=parent,source=${s.wheelDir},target=/wheel-slim/parent`,
          `type=bind,from=parent-native,source=${s.wheelDir},target=/wheel-slim/parent`
        ]
      : []),
    ...(s.extraIndex ? [`type=secret,id=${PIP_CONF_SECRET},target=/etc/pip.conf`] : []),
    out('own', '/wheel-slim/own'),
    'type=bind,from=runtime-files,target=/wheel-slim/runtime-image',
    out('collect', '/wheel-slim/apt', '/wheel-slim/out/apt'),
    out('resolve', '/wheel-slim/resolved', '/wheel-slim/out/$TARGETPLATFORM'),
    out('compile', '/wheel-slim/compiled'),
    'type=bind,from=runtime-files,target=/wheel-slim/runtime-image'
  ])
}

/** The FROM image and flags the design gives each stage. */
function designedFroms(s: DockerfileSpec): Record<string, [string, string[]]> {
  const host = ['$BUILDPLATFORM']
  const wheelImage = s.fromParent ? 'parent' : s.buildFrom
  return {
    ...(s.fromParent ? { parent: [s.buildFrom, []], 'parent-native': [s.buildFrom, host] } : {}),
    own: [s.buildFrom, host],
    resolve: [s.buildFrom, host],
    compile: [wheelImage, []],
    collect: ['runtime-native', []],
    base: [wheelImage, []],
    'runtime-image': [s.runtimeFrom, []],
    'runtime-native': [s.runtimeFrom, host],
    'runtime-files': ['scratch', []],
    wheels: ['scratch', []],
    'runtime-base': ['runtime-image', []],
    runtime: ['runtime-base', []]
  }
}

/** The runtime-base RUN as designed: a fixed script that reads what collect chose. */
const RUNTIME_PACKAGES_RUN = (() => {
  const run = baselineDf.stages
    .find((st) => st.name === 'runtime-base')
    ?.instructions.find((i) => i.keyword === 'RUN')
  if (!run) throw new Error('the baseline (auto-runtime-packages on) has no runtime packages step')
  return { argv: execForm(run), mounts: mounts(run) }
})()

/**
 * Runtime package names appear in the compile and collect configurations and nowhere else, not
 * even in another JSON string: the file with them swapped for a neutral name differs only in
 * those two lines, and only in that field.
 */
function expectRuntimePackagesOnlyInConfigs(p: BuildPlan): void {
  const s = p.spec
  const other = renderDockerfile({
    ...s,
    // names no input can be, so that they never equal one of the user's
    runtimePackages: s.runtimePackages.map((_, i) => `N#${i}`)
  })
  const lines = p.dockerfile.split('\n')
  const otherLines = other.split('\n')
  expect(lines).toHaveLength(otherLines.length)
  const differing = lines
    .map((line, i): [string, string] => [line, otherLines[i] ?? ''])
    .filter(([a, b]) => a !== b)
  expect(differing).toHaveLength(s.runtimePackages.length > 0 ? 2 : 0)
  for (const [line, otherLine] of differing) {
    const parse = (l: string): { command: string; config: Record<string, unknown> } => {
      const argv = JSON.parse(l.trim()) as string[]
      // compile runs the stage script through its shell test: [sh, -c, script, compile, config]
      const at = argv[0] === '/bin/sh' ? 3 : 2
      if (at === 2) expect(argv.slice(0, 2)).toEqual(['python3', '/wheel-slim/tools/wheel_slim.py'])
      return {
        command: argv[at] ?? '',
        config: JSON.parse(argv[at + 1] ?? '') as Record<string, unknown>
      }
    }
    const a = parse(line)
    const b = parse(otherLine)
    expect(['compile', 'collect']).toContain(a.command)
    expect(a.config['runtime_packages']).toEqual(s.runtimePackages)
    expect({ ...a.config, runtime_packages: [] }).toEqual({ ...b.config, runtime_packages: [] })
  }
}

/** The spec with every value that should only ever travel in JSON strings replaced. */
const neutral = (s: DockerfileSpec): DockerfileSpec => ({
  ...s,
  packageName: 'n',
  // whether dist/ holds a pure wheel decides whether resolve mounts own: kept
  ownFiles: s.ownFiles.some((f) => f.endsWith('-none-any.whl'))
    ? ['n-1.0-py3-none-any.whl']
    : ['n-1.0.tar.gz'],
  module: 'n',
  buildPackages: [],
  pipArgs: [],
  runtimePackages: s.runtimePackages.length > 0 ? ['n'] : []
})

const DELIVERIES = (p: BuildPlan): Delivery[] => [
  { kind: 'load', runtimeTag: p.local.runtime, baseTag: p.local.base },
  {
    kind: 'digest',
    runtimeRepository: p.repositories[0] ?? 'r',
    baseRepository: p.repositories[0] ?? 'r'
  }
]

/** Every argv the plan can run buildx with, for both deliveries. */
const allArgv = (p: BuildPlan): string[][] =>
  DELIVERIES(p).flatMap((d) =>
    Object.entries(bakeDefinition(p.common, p.platforms, d, p.files.wheelsOut).target).map(
      ([name, t]) => buildArgv(t, `${p.files.metadata}.${name}`, 'wheel-slim-k')
    )
  )

function allKeys(p: BuildPlan): string[] {
  if (!p.cache) return []
  const { prefix, fingerprint } = p.cache
  return p.platforms.flatMap((platform) => {
    const k = cacheKeys(prefix, platform, fingerprint)
    expect(k.primary).toMatch(new RegExp(`^${prefix}-${platformSlug(platform)}-[0-9a-f]{16}$`))
    return [k.primary, ...k.restore, saveKey(k, ['a-1-py3-none-any.whl'], '1234')]
  })
}

function expectInert(p: BuildPlan): void {
  const text = p.dockerfile
  const df = parseDockerfile(text)
  const s = p.spec

  // the designed stages and instructions, nothing more
  expect(df.stages.map((st) => [st.name, st.instructions.map((i) => i.keyword)])).toEqual(
    expectedShape(s)
  )
  expect(df.directives).toEqual([])
  // the parent stages' comment: two lines
  expect(df.comments).toHaveLength(baselineDf.comments.length + (s.fromParent ? 2 : 0))
  const lines = text.split('\n')
  expect(lines.filter((l) => /^[^\s#]/.test(l))).toHaveLength(df.instructions.length)
  expect(lines.filter((l) => /^\s*#/.test(l))).toHaveLength(df.comments.length)
  expect(lines.filter((l) => /^\s/.test(l) && !/^ {4}(--mount=\S+ \\|\[.*\])$/s.test(l))).toEqual(
    []
  )
  const foreign = lines.filter((line) => {
    const word = /^\s*([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase()
    return word !== undefined && ALL_KEYWORDS.has(word) && !/^[A-Z]+ /.test(line)
  })
  expect(foreign).toEqual([])

  // values that travel in JSON strings leave everything outside them as it was designed
  expect(outsideJson(text)).toBe(outsideJson(renderDockerfile(neutral(s))))

  // the values that land outside JSON strings, each in its designed place only
  const fromOf = (i: ParsedInstruction): string[] => flag(i, 'platform')
  expect(
    Object.fromEntries(
      df.stages.map((st) => [st.name, [st.from, fromOf(st.instructions[0] as ParsedInstruction)]])
    )
  ).toEqual(designedFroms(s))
  const froms = df.instructions.filter((i) => i.keyword === 'FROM')
  expect(froms.filter((i) => i.args.split(' ').length !== 3 || i.flags.length > 1)).toEqual([])
  const allowed = allowedMounts(s)
  expect(df.instructions.flatMap(mounts).filter((m) => !allowed.has(m))).toEqual([])
  const argNames = new Set(['TARGETPLATFORM', 'SOURCE_DATE_EPOCH', ...s.buildArgNames])
  const args = df.instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args)
  expect(args.filter((a) => !argNames.has(a) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(a))).toEqual([])
  expect(df.instructions.filter((i) => i.keyword === 'COPY').map((i) => [i.flags, i.args])).toEqual(
    [
      [[{ name: 'from', value: 'runtime-image' }], '/var/lib/dpkg*/statu[s] /var/lib/dpkg/'],
      [[{ name: 'from', value: 'runtime-image' }], '/usr/bin/apt-ge[t] /usr/bin/'],
      [
        [{ name: 'from', value: 'runtime-image' }],
        '/etc/os-releas[e] /etc/alpine-releas[e] /etc/passw[d] /etc/grou[p] /etc/'
      ],
      [[{ name: 'from', value: 'collect' }], `/wheel-slim/out/new/ ${s.wheelDir}/`],
      [[{ name: 'from', value: 'collect' }], '/wheel-slim/out/set/ /'],
      [[{ name: 'from', value: 'collect' }], '/wheel-slim/layer/ /']
    ]
  )
  for (const keyword of ['USER', 'WORKDIR']) {
    const of = (d: typeof df): string[] =>
      d.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
    expect(of(df)).toEqual(of(baselineDf))
  }

  // exec forms stay exec forms, and carry the values exactly
  const execs = df.instructions.filter((i) => i.keyword === 'RUN' || i.keyword === 'ENTRYPOINT')
  expect(execs.filter((i) => execForm(i).length === 0)).toEqual([])
  // No input adds a flag: besides mounts only collect's fixed --network=none.
  expect(execs.flatMap((i) => i.flags).filter((f) => f.name !== 'mount')).toEqual([
    { name: 'network', value: 'none' }
  ])
  for (const st of df.stages.filter((x) => ['own', 'resolve', 'compile'].includes(x.name ?? ''))) {
    const { config } = toolRun(st)
    expect([config['own'], config['pip_args']]).toEqual([s.ownFiles, s.pipArgs])
  }
  const entrypoint = df.instructions.at(-1)
  expect(entrypoint && execForm(entrypoint)).toEqual(['python3', '-m', s.module])
  const stageConfig = (name: string): Record<string, unknown> =>
    toolRun(df.stages.find((x) => x.name === name) as Parameters<typeof toolRun>[0]).config
  expect(stageConfig('compile')).toMatchObject({
    builder_image: s.buildFrom,
    runtime_image: s.runtimeFrom,
    runtime_packages: s.runtimePackages
  })
  expect(stageConfig('collect')).toEqual({
    builder_image: s.buildFrom,
    runtime_image: s.runtimeFrom,
    runtime_packages: s.runtimePackages,
    auto_runtime_packages: s.autoRuntimePackages,
    uid: RUNTIME_UID,
    user: RUNTIME_USER
  })

  // runtime packages: only in the compile and collect configurations; the step is always the same
  const aptRuns = df.stages
    .filter((st) => st.name === 'runtime-base')
    .flatMap((st) => st.instructions.filter((i) => i.keyword === 'RUN'))
  expect(aptRuns.map((i) => ({ argv: execForm(i), mounts: mounts(i) }))).toEqual(
    expectedShape(s).some(([n, k]) => n === 'runtime-base' && k.includes('RUN'))
      ? [RUNTIME_PACKAGES_RUN]
      : []
  )
  expectRuntimePackagesOnlyInConfigs(p)

  // argv and keys: one element per value, no line break, no NUL
  const elements = [...allArgv(p).flat(), ...allKeys(p)]
  expect(elements.filter((a) => typeof a !== 'string' || breaks(a))).toEqual([])
  expect(allKeys(p).filter((k) => !/^[A-Za-z0-9._-]+$/.test(k))).toEqual([])
}

/** Returns whether the value was accepted. */
function check(name: InputName, value: string): boolean {
  let p: BuildPlan
  try {
    p = plan({ ...BASE, [name]: value })
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    expect((e as Error).name).toBe('InputError')
    expect(breaks((e as Error).message)).toBe(false)
    if (name === 'extra-index-url') expect((e as Error).message).toBe(SECRET_MESSAGE)
    return false
  }
  expectInert(p)
  const v = value.trim()
  if (!OUTSIDE_BY_DESIGN.has(name) && v.length >= 3) {
    // no new occurrence of the value outside JSON strings
    expect(count(outsideJson(p.dockerfile), v)).toBeLessThanOrEqual(
      count(outsideJson(baseline.dockerfile), v)
    )
  }
  if (name === 'extra-index-url' && v !== '') {
    expect(p.dockerfile).not.toContain(v)
    expect(
      allArgv(p)
        .flat()
        .filter((a) => a.includes(v))
    ).toEqual([])
    expect(allKeys(p).filter((k) => k.includes(v))).toEqual([])
  }
  if (name === 'runtime-packages') {
    // each name, however short, adds exactly two JSON strings to the file: one in the own and
    // one in the collect configuration (it may also equal another value, such as the package)
    const neutralText = renderDockerfile({
      ...p.spec,
      runtimePackages: p.spec.runtimePackages.map((_, i) => `N#${i}`)
    })
    for (const pkg of new Set(p.spec.runtimePackages)) {
      const quoted = JSON.stringify(pkg).replace(/"/g, '\\"')
      const times = p.spec.runtimePackages.filter((x) => x === pkg).length
      expect(count(p.dockerfile, quoted) - count(neutralText, quoted)).toBe(2 * times)
    }
  }
  return true
}

describe('hostile inputs', () => {
  test('the baseline is what the other properties compare with', () => {
    const keywords = new Set(baselineDf.instructions.map((i) => i.keyword))
    expect([...keywords].sort()).toEqual([
      'ARG',
      'COPY',
      'ENTRYPOINT',
      'FROM',
      'RUN',
      'USER',
      'WORKDIR'
    ])
    expectInert(baseline)
  })

  test('every input, the new network included, is fed hostile values', () => {
    expect(INPUT_NAMES).toContain('network')
    expect(INPUT_NAMES).toContain('auto-runtime-packages')
  })

  test.each<[string, RawInputs]>([
    [
      'auto-runtime-packages off, no runtime packages: no step at all',
      { 'auto-runtime-packages': 'false' }
    ],
    [
      'auto-runtime-packages off, runtime packages',
      { 'auto-runtime-packages': 'false', 'runtime-packages': 'libpq5 zlib1g' }
    ],
    [
      'auto-runtime-packages off, a parent',
      { 'auto-runtime-packages': 'false', parent: 'ghcr.io/org/svc:1.0-base' }
    ],
    [
      'runtime packages named like the words of the step and of the file',
      { 'runtime-packages': 'apt-get install update read exit python3 runtime-base collect' }
    ]
  ])('%s: inert, the names only in the compile and collect configurations', (_name, values) => {
    const p = plan({ ...BASE, ...values })
    expectInert(p)
    expect(p.spec.runtimePackages).toEqual(
      (values['runtime-packages'] ?? '').split(' ').filter((x) => x !== '')
    )
  })

  test('any string in any single input: InputError or an inert plan', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.constantFrom(...INPUT_NAMES), anyString, (name, value) => {
        if (check(name, value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    // the property must also see values that get through, or it proves little
    expect(accepted).toBeGreaterThan(NUM_RUNS / 20)
  })

  test('hostile fragments after a valid start, input by input', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.constantFrom(...INPUT_NAMES), hostile, (name, value) => {
        if (check(name, value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    expect(accepted).toBeGreaterThan(NUM_RUNS / 20)
  })

  test('several inputs at once: InputError or an inert plan', () => {
    const someInputs = fc.dictionary(fc.constantFrom(...INPUT_NAMES), anyString, { maxKeys: 4 })
    fc.assert(
      fc.property(someInputs, (values) => {
        let p: BuildPlan
        try {
          p = plan({ ...BASE, ...values })
        } catch (e) {
          expect(e).toBeInstanceOf(InputError)
          return
        }
        expectInert(p)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('hostile dist file names: the own files travel in JSON strings only', () => {
    // A wheel's platform tag may hold anything but "-": quotes, "$(", line breaks...
    const wheel = fc
      .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })), {
        minLength: 1,
        maxLength: 4
      })
      .map((parts) => `my_app-1.0-py3-none-any${parts.join('').replace(/-/g, '')}.whl`)
    let accepted = 0
    fc.assert(
      fc.property(fc.array(wheel, { minLength: 1, maxLength: 3 }), (wheels) => {
        let p: BuildPlan
        try {
          p = plan(BASE, undefined, { distFiles: ['my_app-1.0.tar.gz', ...wheels] })
        } catch (e) {
          expect(e).toBeInstanceOf(InputError)
          return
        }
        accepted++
        expect(p.spec.ownFiles).toEqual(['my_app-1.0.tar.gz', ...wheels].sort())
        expectInert(p)
      }),
      { numRuns: NUM_RUNS / 4 }
    )
    expect(accepted).toBeGreaterThan(NUM_RUNS / 8)
  })

  test('an accepted extra-index-url appears in no Dockerfile, argv or key', () => {
    const url = fc
      .tuple(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.constantFrom('', 'tok3n', '$(id)', '"]', '%0aRUN%20x', '\\')
      )
      .map(([u, tail]) => u.replace('://', '://user:s3cr3t@') + tail)
    let accepted = 0
    fc.assert(
      fc.property(url, (value) => {
        if (check('extra-index-url', value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    expect(accepted).toBeGreaterThan(NUM_RUNS / 2)
  })

  test.each<[string, (p: BuildPlan) => BuildPlan]>([
    [
      'an extra instruction',
      (p) => ({ ...p, dockerfile: p.dockerfile.replace('USER 10001', 'ENV X=1\nUSER 10001') })
    ],
    [
      'an instruction hidden in a continuation',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace('USER 10001:10001', 'USER 10001:10001 \\\nRUN x')
      })
    ],
    [
      'a shell-form RUN',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(/^ {4}\["python3", .*"collect".*\]$/m, '    collect')
      })
    ],
    [
      'a parser directive',
      (p) => ({ ...p, dockerfile: `# syntax=docker/dockerfile:1\n${p.dockerfile}` })
    ],
    [
      'a value in an ARG line',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace('ARG TARGETPLATFORM', 'ARG TARGETPLATFORM=$(id)')
      })
    ],
    [
      'an extra mount option',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(
          'source=dist,target=/wheel-slim/dist',
          'source=dist,target=/wheel-slim/dist,rw=true'
        )
      })
    ],
    [
      'a user value outside its JSON string',
      (p) => ({
        ...p,
        spec: { ...p.spec, pipArgs: ['--pre'] },
        dockerfile: p.dockerfile.replace('FROM scratch AS wheels', 'FROM scratch AS wheels --pre')
      })
    ],
    [
      'a different FROM',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace('AS runtime-base', 'AS runtime-base\nFROM x AS y')
      })
    ],
    [
      'a newline in an argv element',
      (p) => ({ ...p, common: { ...p.common, args: { A: '1\nB=2' } } })
    ],
    [
      'a name in the runtime packages step',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(
          '/etc/passwd /etc/group"]',
          '/etc/passwd /etc/group", "libpq5"]'
        )
      })
    ],
    [
      'the runtime packages step left out',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(
          /^RUN --mount=type=bind,from=collect,source=\/wheel-slim\/out\/apt.*\n.*\n/m,
          ''
        )
      })
    ],
    [
      'a runtime package name outside the configurations',
      (p) => ({
        ...p,
        spec: { ...p.spec, runtimePackages: ['libpq5'] },
        dockerfile: p.dockerfile
          .replace(/\\"runtime_packages\\":\[\]/g, '\\"runtime_packages\\":[\\"libpq5\\"]')
          .replace('"compile", "{', '"compile", "{\\"x\\":\\"libpq5\\",')
      })
    ],
    [
      'a shell-form ENTRYPOINT',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(/ENTRYPOINT .*/, 'ENTRYPOINT python3 -m my_app')
      })
    ]
  ])('the inertness check catches %s', (_name, tamper) => {
    expect(() => expectInert(tamper(baseline))).toThrow()
  })

  test('the control: a runtime package added to the compile and collect configurations only is inert', () => {
    const p: BuildPlan = {
      ...baseline,
      spec: { ...baseline.spec, runtimePackages: ['libpq5'] },
      dockerfile: baseline.dockerfile.replace(
        /\\"runtime_packages\\":\[\]/g,
        '\\"runtime_packages\\":[\\"libpq5\\"]'
      )
    }
    expect(p.dockerfile).not.toBe(baseline.dockerfile)
    expect(p.dockerfile).toBe(renderDockerfile(p.spec))
    expectInert(p)
  })

  test.each<[InputName, string]>([
    ['pip-args', '--pre ]"\\ `$(id)` ;rm -rf / # syntax=docker/dockerfile:1'],
    ['build-args', 'A=$(id)\u2028RUN x'],
    ['build-args', 'A=${HOME}%{ if true }'],
    ['labels', 'a=b"],"RUN evil'],
    ['cache-from', 'type=local,src="]RUN'],
    ['smoke-test', 'python3 -c "import my_app"; echo `id`\nRUN evil'],
    ['tags', 'ghcr.io/org/app:ok'],
    ['base-suffix', '-b.a_se'],
    ['network', 'none'],
    ['requirements', 'req/x-1.txt'],
    ['runtime-packages', 'libpq5 libxml2=2.9+dfsg-1'],
    ['runtime-packages', 'apt-get libpq5=1:16.0-1~bpo12+1 python3 ls'],
    // the same string as the package name, which also travels in the configurations
    ['runtime-packages', 'my-app'],
    ['runtime-packages', 'libpq5 libpq5'],
    ['auto-runtime-packages', 'FALSE'],
    ['auto-runtime-packages', 'true'],
    ['no-cache-filters', 'compile,runtime-base']
  ])('accepted hostile-looking %s %j stays inert', (name, value) => {
    expect(check(name, value)).toBe(true)
  })
})
