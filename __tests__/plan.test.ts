import { describe, expect, test } from '@jest/globals'
import { join } from 'node:path'
import { bakeDefinition } from '../src/buildx.js'
import { RUNTIME_UID, RUNTIME_USER } from '../src/constants.js'
import { STAGE_NAMES } from '../src/dockerfile.js'
import { BuildPlan, makePlan } from '../src/plan.js'
import { InputError } from '../src/validate.js'
import { execForm, parseDockerfile, stage, toolRun } from '../__fixtures__/dockerfile.js'
import {
  DIST_FILES,
  EPOCH,
  FACTS,
  parse,
  PATHS,
  plan,
  pushContext,
  RUN_KEY,
  SHA
} from '../__fixtures__/inputs.js'

const IMAGE = { image: 'ghcr.io/org/app' }
const SHA7 = SHA.slice(0, 7)
const tmp = (name: string): string => join(PATHS.tempDir, name)
/** The OCI labels of a run of org/app at SHA on the fixtures' dist (no package metadata). */
const OCI = [
  'org.opencontainers.image.title=my-app',
  'org.opencontainers.image.version=1.0.0',
  'org.opencontainers.image.source=https://github.com/org/app',
  `org.opencontainers.image.revision=${SHA}`,
  `org.opencontainers.image.created=${new Date(Number(EPOCH) * 1000).toISOString()}`
]

describe('makePlan: a release of one image on two platforms', () => {
  // dist/ holds 1.0.0: the tag must name that version
  const p = plan(IMAGE, pushContext({ ref: 'refs/tags/v1.0.0' }))

  test('the package: name, version, module and its own files in dist', () => {
    expect(p.package).toEqual({
      name: 'my-app',
      version: '1.0.0',
      module: 'my_app',
      files: [...DIST_FILES].sort()
    })
  })

  test('the spec the Dockerfile is rendered from', () => {
    expect(p.spec).toEqual({
      buildFrom: 'python:3.12',
      fromParent: false,
      runtimeFrom: 'python:3.12-slim',
      wheelDir: '/wheeley',
      distPath: 'dist',
      packageName: 'my-app',
      ownFiles: [...DIST_FILES].sort(),
      requirementsPath: undefined,
      hashes: false,
      module: 'my_app',
      buildPackages: [],
      runtimePackages: [],
      autoRuntimePackages: true,
      pipArgs: [],
      extraIndex: false,
      wheelCache: true,
      buildArgNames: [],
      platforms: ['linux/amd64', 'linux/arm/v7']
    })
    const df = parseDockerfile(p.dockerfile)
    expect(df.stages.map((s) => s.name)).toEqual(STAGE_NAMES)
    expect(toolRun(stage(df, 'resolve')).config['own']).toEqual(p.spec.ownFiles)
    // The platforms this run builds: one resolve step for both.
    expect(toolRun(stage(df, 'resolve')).config['platforms']).toEqual(p.spec.platforms)
    expect(p.dockerfile).not.toMatch(/my[-_]app==/)
    expect(execForm(df.instructions.at(-1) ?? { keyword: '', flags: [], args: '' })).toEqual([
      'python3',
      '-m',
      'my_app'
    ])
  })

  test("the run's files all live in its temp directory", () => {
    expect(p.files).toEqual({
      dockerfile: tmp('Dockerfile'),
      tools: tmp('tools'),
      bake: tmp('bake.json'),
      metadata: tmp('metadata.json'),
      wheelsOut: tmp('wheels-out'),
      wheelCache: tmp('wheel-cache')
    })
  })

  test('tags: version tags, base = slim + suffix; pushed', () => {
    const slim = ['1.0.0', '1.0', '1', 'latest', `sha-${SHA7}`].map((t) => `ghcr.io/org/app:${t}`)
    expect(p.slimTags).toEqual(slim)
    expect(p.baseTags).toEqual(slim.map((r) => `${r}-base`))
    // 1.0, 1 and latest follow the newest release: they only move forward
    expect(p.floating).toEqual([
      'ghcr.io/org/app:1.0',
      'ghcr.io/org/app:1',
      'ghcr.io/org/app:latest',
      'ghcr.io/org/app:1.0-base',
      'ghcr.io/org/app:1-base',
      'ghcr.io/org/app:latest-base'
    ])
    expect(p.version).toBe('1.0.0')
    expect(p.push).toEqual({ push: true, reason: expect.stringContaining('push') })
    expect(p.cacheSave.save).toBe(true)
  })

  test('run refs: the sha tag of each repository; local names of the run', () => {
    expect(p.repositories).toEqual(['ghcr.io/org/app'])
    expect(p.runRefs).toEqual({
      slim: [`ghcr.io/org/app:sha-${SHA7}`],
      base: [`ghcr.io/org/app:sha-${SHA7}-base`]
    })
    expect(p.local).toEqual({
      runtime: `wheel-slim-local/${RUN_KEY}:runtime`,
      base: `wheel-slim-local/${RUN_KEY}:base`
    })
    expect(p.platforms).toEqual(['linux/amd64', 'linux/arm/v7'])
  })

  test('the common build settings', () => {
    expect(p.common).toEqual({
      dockerfile: p.files.dockerfile,
      context: PATHS.workspace,
      toolsDir: p.files.tools,
      args: { SOURCE_DATE_EPOCH: EPOCH },
      labels: OCI,
      annotations: OCI.map((l) => `index:${l}`),
      baseLabels: [
        ...OCI,
        'io.wheel-slim.wheel-dir=/wheeley',
        'io.wheel-slim.python-version=3.12',
        'io.wheel-slim.builder=python:3.12',
        'io.wheel-slim.build-packages=',
        'io.wheel-slim.runtime-packages='
      ],
      cacheFrom: [],
      cacheTo: [],
      noCacheFilters: [],
      provenance: 'false',
      network: 'default',
      pipConfFile: undefined,
      wheelCacheDir: tmp('wheel-cache')
    })
  })

  test('the wheel cache: prefix and fingerprint', () => {
    expect(p.cache).toEqual({
      prefix: 'wheel-slim',
      fingerprint: {
        builder: 'python:3.12',
        pythonVersion: '3.12',
        buildPackages: [],
        pipArgs: []
      }
    })
  })

  test('the default smoke test imports the module', () => {
    expect(p.smokeTest).toBe("python3 -c 'import my_app'")
    expect(p.defaultSmokeTest).toBe(true)
    const cli = plan({ ...IMAGE, module: 'my_app.cli' })
    expect(cli.smokeTest).toBe("python3 -c 'import my_app.cli'")
    const own = plan({ ...IMAGE, 'smoke-test': 'my-app --version' })
    expect(own.smokeTest).toBe('my-app --version')
    expect(own.defaultSmokeTest).toBe(false)
  })
})

describe('makePlan: run refs and repositories', () => {
  test.each<[string, Partial<ReturnType<typeof pushContext>>, string]>([
    ['a commit: sha-<7>', {}, `sha-${SHA7}`],
    ['a short hex sha: its first 7', { sha: 'abcdef0' }, 'sha-abcdef0'],
    ['no sha: the run key', { sha: '' }, `wheel-slim-${RUN_KEY}`],
    ['a sha that is no hex: the run key', { sha: 'not-a-sha' }, `wheel-slim-${RUN_KEY}`],
    ['an upper-case sha is not taken as one', { sha: SHA.toUpperCase() }, `wheel-slim-${RUN_KEY}`]
  ])('%s', (_name, ctx, tag) => {
    const p = plan({ ...IMAGE, tags: '1.0' }, pushContext(ctx))
    expect(p.runRefs).toEqual({
      slim: [`ghcr.io/org/app:${tag}`],
      base: [`ghcr.io/org/app:${tag}-base`]
    })
  })

  test('several repositories, in the order of the tags, each once; the base suffix applies', () => {
    const p = plan(
      {
        image: 'ghcr.io/org/app\ndocker.io/org/app',
        tags: '1.0\nlatest\nregistry.local:5000/x/y:2',
        'base-suffix': '-wheels'
      },
      pushContext()
    )
    expect(p.repositories).toEqual([
      'ghcr.io/org/app',
      'docker.io/org/app',
      'registry.local:5000/x/y'
    ])
    expect(p.runRefs.slim).toEqual(p.repositories.map((r) => `${r}:sha-${SHA7}`))
    expect(p.runRefs.base).toEqual(p.repositories.map((r) => `${r}:sha-${SHA7}-wheels`))
  })

  test('dockerfile-only: the Dockerfile names no platforms (another pipeline may build others)', () => {
    const p = plan({ ...IMAGE, 'dockerfile-only': 'true' })
    expect(p.spec.platforms).toBeUndefined()
    expect(toolRun(stage(parseDockerfile(p.dockerfile), 'resolve')).config).not.toHaveProperty(
      'platforms'
    )
  })

  test('dockerfile-only without image: no tags, no repositories, no run refs', () => {
    const p = plan({ 'dockerfile-only': 'true' })
    expect([p.slimTags, p.baseTags, p.repositories, p.runRefs]).toEqual([
      [],
      [],
      [],
      { slim: [], base: [] }
    ])
    expect(parseDockerfile(p.dockerfile).stages.map((s) => s.name)).toEqual(STAGE_NAMES)
  })
})

describe('makePlan: variants', () => {
  test('dockerfile-only on a ref with no computable tag still plans', () => {
    const p = plan({ ...IMAGE, 'dockerfile-only': 'true' }, pushContext({ ref: '', sha: '' }))
    expect(p.slimTags).toEqual([])
  })

  test('missing image (not dockerfile-only) names "image"', () => {
    expect(() => plan({})).toThrow(InputError)
    expect(() => plan({})).toThrow(/^Input "image": "" is not valid; expected /)
  })

  test('full references in tags need no image', () => {
    const p = plan({ tags: 'ghcr.io/a/b:1,docker.io/a/b:1' })
    expect(p.slimTags).toEqual(['ghcr.io/a/b:1', 'docker.io/a/b:1'])
    expect(p.baseTags).toEqual(['ghcr.io/a/b:1-base', 'docker.io/a/b:1-base'])
  })

  test.each([
    ['no ref and no sha', pushContext({ ref: '', sha: '' }), {}],
    ['an unknown ref', pushContext({ ref: 'refs/notes/x', sha: 'nothex' }), {}],
    [
      'a same-repo PR without number, push forced',
      pushContext({ eventName: 'pull_request', ref: 'refs/heads/x', sha: '' }),
      { push: 'true' }
    ]
  ])('no tag computable while pushing (%s) names "tags"', (_name, ctx, extra) => {
    expect(() => plan({ ...IMAGE, ...extra }, ctx)).toThrow(InputError)
    expect(() => plan({ ...IMAGE, ...extra }, ctx)).toThrow(/^Input "tags": "" is not valid/)
  })

  test('no tag computable but not pushing: plans with no tags', () => {
    const ctx = pushContext({ eventName: 'pull_request', ref: 'refs/heads/x', sha: '' })
    const p = plan(IMAGE, ctx)
    expect(p.push.push).toBe(false)
    expect(p.slimTags).toEqual([])
  })

  test('a pull request: pr-N and sha tags, not pushed, the cache saved', () => {
    const ctx = pushContext({ eventName: 'pull_request', ref: 'refs/pull/4/merge', prNumber: 4 })
    const p = plan(IMAGE, ctx)
    expect(p.push.push).toBe(false)
    expect(p.cacheSave.save).toBe(true)
    expect(p.slimTags).toEqual(['ghcr.io/org/app:pr-4', `ghcr.io/org/app:sha-${SHA7}`])
  })

  test('an untrusted run: push true is refused, the cache is not saved', () => {
    const ctx = pushContext({
      eventName: 'pull_request',
      ref: 'refs/pull/4/merge',
      prNumber: 4,
      untrustedReason: 'pull_request from a fork'
    })
    const p = plan({ ...IMAGE, push: 'true' }, ctx)
    expect(p.push).toEqual({ push: false, reason: 'never pushes: pull_request from a fork' })
    expect(p.cacheSave).toEqual({ save: false, reason: 'not saved: pull_request from a fork' })
  })

  test('a parent: the wheels are built from it, the compile and base stages stand on it', () => {
    const p = plan({ ...IMAGE, parent: 'ghcr.io/org/svc:1.0-base' })
    expect(p.spec.buildFrom).toBe('ghcr.io/org/svc:1.0-base')
    expect(p.spec.fromParent).toBe(true)
    const df = parseDockerfile(p.dockerfile)
    expect(stage(df, 'parent').from).toBe('ghcr.io/org/svc:1.0-base')
    expect(stage(df, 'base').from).toBe('parent')
    expect(stage(df, 'compile').from).toBe('parent')
  })

  test('build args: values reach the build, names are declared in the Dockerfile', () => {
    const p = plan({ ...IMAGE, 'build-args': 'PIP_INDEX_URL=https://x/simple?a=b\nEMPTY=' })
    expect(p.spec.buildArgNames).toEqual(['PIP_INDEX_URL', 'EMPTY'])
    expect(p.common.args).toEqual({
      PIP_INDEX_URL: 'https://x/simple?a=b',
      EMPTY: '',
      SOURCE_DATE_EPOCH: EPOCH
    })
    for (const name of ['own', 'resolve', 'compile']) {
      const args = stage(parseDockerfile(p.dockerfile), name)
        .instructions.filter((i) => i.keyword === 'ARG')
        .map((i) => i.args)
      expect(args).toEqual(expect.arrayContaining(['PIP_INDEX_URL', 'EMPTY']))
    }
  })

  test('SOURCE_DATE_EPOCH comes from the workspace facts', () => {
    expect(plan(IMAGE, pushContext(), { sourceDateEpoch: '42' }).common.args).toEqual({
      SOURCE_DATE_EPOCH: '42'
    })
  })

  test('base labels record what a child inherits, after the user labels', () => {
    const p = plan({
      ...IMAGE,
      labels: 'org.opencontainers.image.source=https://x/y',
      'python-version': '3.11',
      'builder-image': 'ghcr.io/org/builder:3.11',
      'wheel-dir': '/opt/wheels',
      'build-packages': 'libpq-dev gcc',
      'runtime-packages': 'libpq5'
    })
    // ours first, the user's after (a later label of the same key wins)
    expect(p.common.labels).toEqual([...OCI, 'org.opencontainers.image.source=https://x/y'])
    expect(p.common.baseLabels).toEqual([
      ...OCI,
      'org.opencontainers.image.source=https://x/y',
      'io.wheel-slim.wheel-dir=/opt/wheels',
      'io.wheel-slim.python-version=3.11',
      'io.wheel-slim.builder=ghcr.io/org/builder:3.11',
      'io.wheel-slim.build-packages=libpq-dev gcc',
      'io.wheel-slim.runtime-packages=libpq5'
    ])
  })

  test('network, provenance and cache specs pass through', () => {
    const p = plan({
      ...IMAGE,
      network: 'host',
      provenance: 'mode=max',
      'cache-from': 'type=gha',
      'cache-to': 'type=gha,mode=max',
      'no-cache-filters': 'compile,collect'
    })
    expect(p.common).toMatchObject({
      network: 'host',
      provenance: 'mode=max',
      cacheFrom: ['type=gha'],
      cacheTo: ['type=gha,mode=max'],
      noCacheFilters: ['compile', 'collect']
    })
  })

  test.each<[string, boolean]>([
    ['no --hash in the requirements', false],
    ['the requirements pin hashes', true]
  ])('%s: spec.hashes follows the workspace', (_name, hashes) => {
    const p = plan({ ...IMAGE, requirements: 'requirements.txt' }, pushContext(), {
      requirementHashes: hashes
    })
    expect(p.spec.hashes).toBe(hashes)
    expect(toolRun(stage(parseDockerfile(p.dockerfile), 'resolve')).config['find_links']).toEqual(
      hashes ? ['/wheel-slim/dist'] : ['/wheel-slim/dist', '/wheel-slim/cache']
    )
  })

  test.each<[string, Record<string, string>, boolean]>([
    ['cache true (default)', {}, true],
    ['cache false', { cache: 'false' }, false],
    ['dockerfile-only', { 'dockerfile-only': 'true' }, false],
    ['cache false and dockerfile-only', { cache: 'false', 'dockerfile-only': 'true' }, false]
  ])('wheel cache: %s → %s', (_name, extra, cached) => {
    const p = plan({ ...IMAGE, ...extra })
    expect(p.spec.wheelCache).toBe(cached)
    expect(p.files.wheelCache).toBe(cached ? tmp('wheel-cache') : undefined)
    expect(p.common.wheelCacheDir).toBe(p.files.wheelCache)
    expect(p.cache === undefined).toBe(!cached)
    const bake = bakeDefinition(p.common, p.platforms, {
      kind: 'load',
      runtimeTag: p.local.runtime,
      baseTag: p.local.base
    })
    expect(Object.values(bake.target).every((t) => 'wheelcache' in t.contexts)).toBe(cached)
    expect(p.dockerfile.includes('from=wheelcache')).toBe(cached)
  })

  test('the fingerprint: builder, python version, build packages, pip args; no secret', () => {
    const p = plan({
      ...IMAGE,
      'cache-key': 'svc',
      'python-version': '3.11',
      'build-packages': 'libpq-dev',
      'pip-args': '--pre',
      'extra-index-url': 'https://u:tok@pkgs.example.org/simple'
    })
    expect(p.cache).toEqual({
      prefix: 'svc',
      fingerprint: {
        builder: 'python:3.11',
        pythonVersion: '3.11',
        buildPackages: ['libpq-dev'],
        pipArgs: ['--pre']
      }
    })
    expect(JSON.stringify(p.cache)).not.toContain('tok')
  })

  test.each<[string, string, boolean]>([
    ['without extra-index-url', '', false],
    ['with extra-index-url', 'https://u:tok@pkgs.example.org/simple', true]
  ])('pip.conf %s', (_name, url, secret) => {
    const p = plan({ ...IMAGE, 'extra-index-url': url })
    expect(p.spec.extraIndex).toBe(secret)
    expect(p.files.pipConf).toBe(secret ? tmp('pip.conf') : undefined)
    expect(p.common.pipConfFile).toBe(p.files.pipConf)
    const bake = bakeDefinition(p.common, p.platforms, {
      kind: 'digest',
      runtimeRepository: 'ghcr.io/org/app',
      baseRepository: 'ghcr.io/org/app'
    })
    expect(bake.target['runtime']?.secret).toEqual(
      secret ? [`id=wheel-slim-pip-conf,src=${tmp('pip.conf')}`] : undefined
    )
    expect(JSON.stringify(bake)).not.toContain('tok')
    expect(JSON.stringify(p)).not.toContain('tok')
  })

  test('a file whose version is not PEP 440-ish is no distribution: names "dist"', () => {
    expect(() =>
      makePlan(
        parse(IMAGE),
        pushContext(),
        { ...FACTS, distFiles: ['my_app-1.0,0.tar.gz'] },
        PATHS,
        RUN_KEY
      )
    ).toThrow(/^Input "dist": "dist" is not valid/)
  })

  test('a default module that is no Python identifier names "module"', () => {
    const facts = { ...FACTS, distFiles: ['3to2-1.0.tar.gz'] }
    expect(() => makePlan(parse(IMAGE), pushContext(), facts, PATHS, RUN_KEY)).toThrow(
      /^Input "module": "3to2" is not valid/
    )
    expect(
      makePlan(parse({ ...IMAGE, module: 'lib3to2' }), pushContext(), facts, PATHS, RUN_KEY).package
        .module
    ).toBe('lib3to2')
  })

  test.each(['linux/amd64', 'linux/arm64,linux/arm/v7', 'linux/386\nlinux/386', ',', ' ,\n, '])(
    'platforms %j: at least one, each once, and the build runs on exactly those',
    (platforms) => {
      let p: BuildPlan
      try {
        p = plan({ ...IMAGE, platforms })
      } catch (e) {
        expect((e as Error).message).toMatch(/^Input "platforms": /)
        return
      }
      expect(p.platforms.length).toBeGreaterThan(0)
      expect(new Set(p.platforms).size).toBe(p.platforms.length)
      const bake = bakeDefinition(p.common, p.platforms, {
        kind: 'load',
        runtimeTag: p.local.runtime,
        baseTag: p.local.base
      })
      for (const t of Object.values(bake.target)) expect(t.platforms).toEqual(p.platforms)
    }
  )
})

// "FROM collect AS runtime-base" would build the slim image on a fat stage of its own file: an
// image input must never be read as the name of one of the Dockerfile's stages. Stage names are
// case-insensitive in BuildKit.
describe('image inputs are images, never one of the stages', () => {
  const STAGE_LIKE = [...STAGE_NAMES, 'parent', 'scratch']
  /** Stages built FROM another stage by design; anything else is an image read as a stage. */
  const DESIGNED: Record<string, string> = {
    compile: 'parent',
    base: 'parent',
    'runtime-base': 'runtime-image',
    collect: 'runtime-native',
    runtime: 'runtime-base'
  }

  /** The FROM lines an accepted value turns into a stage reference, or 'refused'. */
  function misread(name: string, value: string): string[] | 'refused' {
    let p: BuildPlan
    try {
      p = plan({ ...IMAGE, [name]: value })
    } catch (e) {
      expect(e).toBeInstanceOf(InputError)
      expect((e as Error).message).toMatch(`Input "${name}": ${JSON.stringify(value)}`)
      return 'refused'
    }
    const df = parseDockerfile(p.dockerfile)
    const names = df.stages.map((s) => s.name?.toLowerCase())
    return df.stages
      .filter((s) => names.includes(s.from?.toLowerCase()))
      .filter((s) => DESIGNED[s.name ?? ''] !== s.from)
      .map((s) => `FROM ${s.from} AS ${s.name}`)
  }

  test.each(['runtime-image', 'builder-image', 'parent'])(
    '%s: no stage name of the generated Dockerfile is taken as an image',
    (name) => {
      const offending = Object.fromEntries(
        STAGE_LIKE.flatMap((value) => [value, value.toUpperCase()])
          .map((value) => [value, misread(name, value)] as const)
          .filter(([, r]) => r !== 'refused' && r.length > 0)
      )
      expect(offending).toEqual({})
    }
  )

  test('the check sees a stage reference when there is one', () => {
    expect(misread('runtime-image', 'python:3.12-slim')).toEqual([])
    expect(misread('runtime-image', 'base')).toBe('refused')
  })

  test.each([
    'runtime-image',
    'runtime-native',
    'RUNTIME-NATIVE',
    'Runtime-Image',
    'runtime-files'
  ])('the new stage name %j is refused as every image input', (value) => {
    for (const name of ['runtime-image', 'builder-image', 'parent']) {
      expect(misread(name, value)).toBe('refused')
    }
  })
})

describe('makePlan: runtime packages', () => {
  const collectConfig = (p: BuildPlan): Record<string, unknown> =>
    toolRun(stage(parseDockerfile(p.dockerfile), 'collect')).config

  test.each<[string, Record<string, string>, boolean, string[]]>([
    ['default: found by the action', {}, true, []],
    ['off', { 'auto-runtime-packages': 'false' }, false, []],
    ['off, case-insensitive', { 'auto-runtime-packages': 'FALSE' }, false, []],
    [
      'on, with runtime packages',
      { 'auto-runtime-packages': 'true', 'runtime-packages': 'libpq5,zlib1g' },
      true,
      ['libpq5', 'zlib1g']
    ]
  ])('auto-runtime-packages %s reaches the spec and collect', (_name, values, auto, packages) => {
    const p = plan({ ...IMAGE, ...values })
    expect(p.spec.autoRuntimePackages).toBe(auto)
    expect(p.spec.runtimePackages).toEqual(packages)
    expect(collectConfig(p)).toEqual({
      builder_image: 'python:3.12',
      runtime_image: 'python:3.12-slim',
      runtime_packages: packages,
      auto_runtime_packages: auto,
      uid: RUNTIME_UID,
      user: RUNTIME_USER
    })
  })

  test('the runtime image of python-version and of runtime-image reaches compile and collect', () => {
    const p = plan({
      ...IMAGE,
      'python-version': '3.11',
      'runtime-image': 'ghcr.io/org/slim:3.11'
    })
    const df = parseDockerfile(p.dockerfile)
    expect(toolRun(stage(df, 'compile')).config).toMatchObject({
      builder_image: 'python:3.11',
      runtime_image: 'ghcr.io/org/slim:3.11'
    })
    expect(collectConfig(p)['runtime_image']).toBe('ghcr.io/org/slim:3.11')
    expect(stage(df, 'runtime-image').from).toBe('ghcr.io/org/slim:3.11')
    expect(stage(df, 'runtime-native').from).toBe('ghcr.io/org/slim:3.11')
  })

  test('a child: compile compares the parent (the builder it compiles on) with the runtime image', () => {
    const p = plan({ ...IMAGE, parent: 'ghcr.io/org/svc:1.0-base' })
    const compile = toolRun(stage(parseDockerfile(p.dockerfile), 'compile')).config
    expect(compile['builder_image']).toBe('ghcr.io/org/svc:1.0-base')
    expect(compile['runtime_image']).toBe('python:3.12-slim')
  })
})

describe("makePlan: release tags follow the tag, and dist/ must hold the tag's version", () => {
  const release = (ref: string, files: string[], values = {}): BuildPlan =>
    plan({ ...IMAGE, ...values }, pushContext({ ref }), { distFiles: files })

  test('v1.2.3 with a 1.2.3 sdist: X.Y.Z, X.Y, X, latest; X.Y, X and latest float', () => {
    const p = release('refs/tags/v1.2.3', ['my_app-1.2.3.tar.gz'])
    expect(p.slimTags).toEqual(
      ['1.2.3', '1.2', '1', 'latest', `sha-${SHA7}`].map((t) => `ghcr.io/org/app:${t}`)
    )
    expect(p.floating).toEqual(
      ['1.2', '1', 'latest', '1.2-base', '1-base', 'latest-base'].map((t) => `ghcr.io/org/app:${t}`)
    )
    expect(p.version).toBe('1.2.3')
  })

  test('v1.2.3 with a 1.2.3.0 wheel: the same version (PEP 440)', () => {
    const p = release('refs/tags/v1.2.3', ['my_app-1.2.3.0-py3-none-any.whl'])
    expect(p.slimTags[0]).toBe('ghcr.io/org/app:1.2.3')
    expect(p.version).toBe('1.2.3.0')
  })

  test('v1.2.3rc1: only itself, nothing floats', () => {
    const p = release('refs/tags/v1.2.3rc1', ['my_app-1.2.3rc1.tar.gz'])
    expect(p.slimTags).toEqual([`ghcr.io/org/app:1.2.3rc1`, `ghcr.io/org/app:sha-${SHA7}`])
    expect(p.floating).toEqual([])
  })

  test('v1.2.3 with a 1.2.4.dev3 sdist is refused, naming both', () => {
    expect(() => release('refs/tags/v1.2.3', ['my_app-1.2.4.dev3.tar.gz'])).toThrow(
      'The git tag v1.2.3 is version 1.2.3, but dist/ holds version 1.2.4.dev3'
    )
  })

  test('a branch builds whatever version dist/ holds', () => {
    const p = release('refs/heads/main', ['my_app-1.2.4.dev3.tar.gz'])
    expect(p.slimTags).toEqual([`ghcr.io/org/app:edge`, `ghcr.io/org/app:sha-${SHA7}`])
    expect(p.floating).toEqual([])
    expect(p.version).toBe('1.2.4.dev3')
  })

  test('tags given: used as they are, none of them floats', () => {
    const p = release('refs/tags/v1.2.3', ['my_app-1.2.3.tar.gz'], { tags: 'latest,1.2.3' })
    expect(p.slimTags).toEqual(['ghcr.io/org/app:latest', 'ghcr.io/org/app:1.2.3'])
    expect(p.floating).toEqual([])
  })
})

describe('makePlan: tag-prefix and tag-suffix', () => {
  const p = plan(
    { ...IMAGE, 'tag-prefix': 'rpi-', 'tag-suffix': '-slim' },
    pushContext({ ref: 'refs/tags/v1.0.0' })
  )

  test('every computed tag, and the run refs, as <prefix><tag><suffix>', () => {
    const tags = ['1.0.0', '1.0', '1', 'latest', `sha-${SHA7}`]
    expect(p.slimTags).toEqual(tags.map((t) => `ghcr.io/org/app:rpi-${t}-slim`))
    expect(p.baseTags).toEqual(tags.map((t) => `ghcr.io/org/app:rpi-${t}-slim-base`))
    expect(p.runRefs).toEqual({
      slim: [`ghcr.io/org/app:rpi-sha-${SHA7}-slim`],
      base: [`ghcr.io/org/app:rpi-sha-${SHA7}-slim-base`]
    })
    expect(p.floating).toEqual([
      'ghcr.io/org/app:rpi-1.0-slim',
      'ghcr.io/org/app:rpi-1-slim',
      'ghcr.io/org/app:rpi-latest-slim',
      'ghcr.io/org/app:rpi-1.0-slim-base',
      'ghcr.io/org/app:rpi-1-slim-base',
      'ghcr.io/org/app:rpi-latest-slim-base'
    ])
  })

  test('full references in tags get neither', () => {
    const q = plan({ tags: 'ghcr.io/a/b:1.0.0', 'tag-prefix': 'rpi-', 'tag-suffix': '-slim' })
    expect(q.slimTags).toEqual(['ghcr.io/a/b:1.0.0'])
    expect(q.baseTags).toEqual(['ghcr.io/a/b:1.0.0-base'])
  })
})

describe('makePlan: arch-tags (a job of a per-platform matrix)', () => {
  const job = (platform: string, values = {}): BuildPlan =>
    plan(
      { ...IMAGE, platforms: platform, 'arch-tags': 'true', ...values },
      pushContext({ ref: 'refs/tags/v1.0.0' })
    )

  test.each<[string, string]>([
    ['linux/amd64', 'amd64'],
    ['linux/arm/v7', 'arm32v7'],
    ['linux/arm64', 'arm64v8']
  ])('%s: every tag and run ref is per-architecture (-%s)', (platform, arch) => {
    const p = job(platform)
    const tags = ['1.0.0', '1.0', '1', 'latest', `sha-${SHA7}`]
    expect(p.platforms).toEqual([platform])
    expect(p.slimTags).toEqual(tags.map((t) => `ghcr.io/org/app:${t}-${arch}`))
    expect(p.baseTags).toEqual(tags.map((t) => `ghcr.io/org/app:${t}-base-${arch}`))
    expect(p.runRefs).toEqual({
      slim: [`ghcr.io/org/app:sha-${SHA7}-${arch}`],
      base: [`ghcr.io/org/app:sha-${SHA7}-base-${arch}`]
    })
    expect(p.floating).toEqual(
      ['1.0', '1', 'latest', '1.0-base', '1-base', 'latest-base'].map(
        (t) => `ghcr.io/org/app:${t}-${arch}`
      )
    )
    expect(p.repositories).toEqual(['ghcr.io/org/app'])
  })

  test('arch-tag-format rpi-{tag}, with tag-prefix: the format wraps the whole tag', () => {
    const p = job('linux/arm/v7', { 'arch-tag-format': 'rpi-{tag}', 'tag-prefix': 'py-' })
    expect(p.slimTags[0]).toBe('ghcr.io/org/app:rpi-py-1.0.0')
    expect(p.baseTags[0]).toBe('ghcr.io/org/app:rpi-py-1.0.0-base')
    expect(p.runRefs.slim).toEqual([`ghcr.io/org/app:rpi-py-sha-${SHA7}`])
  })

  test('without arch-tags the tags are the plain ones', () => {
    const p = plan(
      { ...IMAGE, platforms: 'linux/arm/v7' },
      pushContext({ ref: 'refs/tags/v1.0.0' })
    )
    expect(p.slimTags[0]).toBe('ghcr.io/org/app:1.0.0')
  })
})

describe('makePlan: OCI labels, ours first, the user labels after', () => {
  const INFO = { summary: 'A small web service', license: 'MIT OR Apache-2.0' }

  test('from the package, the commit and the source date, in this order', () => {
    const p = plan({ ...IMAGE, labels: 'org.example.team=web' }, pushContext(), {
      packageInfo: INFO
    })
    const ours = [
      'org.opencontainers.image.title=my-app',
      'org.opencontainers.image.description=A small web service',
      'org.opencontainers.image.licenses=MIT OR Apache-2.0',
      'org.opencontainers.image.version=1.0.0',
      'org.opencontainers.image.source=https://github.com/org/app',
      `org.opencontainers.image.revision=${SHA}`,
      'org.opencontainers.image.created=2023-11-14T22:13:20.000Z'
    ]
    expect(p.common.labels).toEqual([...ours, 'org.example.team=web'])
    expect(p.common.baseLabels.slice(0, ours.length + 1)).toEqual([...ours, 'org.example.team=web'])
    expect(
      p.common.baseLabels.slice(ours.length + 1).every((l) => l.startsWith('io.wheel-slim.'))
    ).toBe(true)
  })

  test("docker/metadata-action's tags, labels and annotations outputs, unchanged", () => {
    // What metadata-action@v5 writes for a push of v1.0.0 with
    // DOCKER_METADATA_ANNOTATIONS_LEVELS=manifest,index.
    const theirs = [
      'org.opencontainers.image.created=2026-11-30T08:00:00.000Z',
      'org.opencontainers.image.description=The app',
      'org.opencontainers.image.licenses=MIT',
      `org.opencontainers.image.revision=${SHA}`,
      'org.opencontainers.image.source=https://github.com/org/app',
      'org.opencontainers.image.title=app',
      'org.opencontainers.image.url=https://github.com/org/app',
      'org.opencontainers.image.version=1.0.0'
    ]
    const p = plan(
      {
        tags: ['1.0.0', '1.0', 'latest'].map((t) => `ghcr.io/org/app:${t}`).join('\n'),
        labels: theirs.join('\n'),
        annotations: [
          ...theirs.map((l) => `manifest:${l}`),
          ...theirs.map((l) => `index:${l}`)
        ].join('\n')
      },
      pushContext({ ref: 'refs/tags/v1.0.0' })
    )
    expect(p.slimTags).toEqual(['1.0.0', '1.0', 'latest'].map((t) => `ghcr.io/org/app:${t}`))
    expect(p.baseTags).toEqual(p.slimTags.map((r) => `${r}-base`))
    // The run's own tag goes to that repository as well, pushed and verified first.
    expect(p.runRefs).toEqual({
      slim: [`ghcr.io/org/app:sha-${SHA7}`],
      base: [`ghcr.io/org/app:sha-${SHA7}-base`]
    })
    expect(p.common.labels).toEqual([...OCI, ...theirs])
    expect(p.common.annotations).toEqual([
      // Ours first, each index one then taken over by theirs (same level and key)...
      ...[
        'title=app',
        'version=1.0.0',
        'source=https://github.com/org/app',
        `revision=${SHA}`,
        'created=2026-11-30T08:00:00.000Z',
        'description=The app',
        'licenses=MIT',
        'url=https://github.com/org/app'
      ].map((kv) => `index:org.opencontainers.image.${kv}`),
      // ...then their manifest lines.
      ...theirs.map((l) => `manifest:${l}`)
    ])
  })

  test("the OCI labels as index annotations (a user label winning), then the user's annotations", () => {
    const p = plan({
      ...IMAGE,
      labels: 'org.opencontainers.image.title=Mine\norg.example.team=web',
      annotations: 'manifest:org.example.team=web\nindex:org.opencontainers.image.version=v1'
    })
    expect(p.common.annotations).toEqual([
      'index:org.opencontainers.image.title=Mine',
      'index:org.opencontainers.image.version=v1',
      ...OCI.slice(2).map((l) => `index:${l}`),
      'manifest:org.example.team=web'
    ])
  })

  test.each<[string, Partial<ReturnType<typeof pushContext>>, string, string[]]>([
    ['no package metadata: no description, no licenses', {}, EPOCH, OCI],
    [
      'GitHub Enterprise Server: the source on its server',
      { serverUrl: 'https://git.example.com' },
      EPOCH,
      OCI.map((l) =>
        l.endsWith('source=https://github.com/org/app')
          ? 'org.opencontainers.image.source=https://git.example.com/org/app'
          : l
      )
    ],
    [
      'no repository: no source',
      { repository: '' },
      EPOCH,
      OCI.filter((l) => !l.includes('.source='))
    ],
    [
      'a sha that is not a full commit: no revision',
      { sha: 'abcdef0' },
      EPOCH,
      OCI.filter((l) => !l.includes('.revision='))
    ],
    [
      'a source date of 0: the epoch',
      {},
      '0',
      OCI.map((l) =>
        l.includes('.created=') ? 'org.opencontainers.image.created=1970-01-01T00:00:00.000Z' : l
      )
    ]
  ])('%s', (_name, ctx, epoch, labels) => {
    const p = plan({ ...IMAGE, tags: '1.0' }, pushContext(ctx), { sourceDateEpoch: epoch })
    expect(p.common.labels).toEqual(labels)
    expect(p.common.baseLabels.slice(0, labels.length)).toEqual(labels)
  })

  test("a user label of the same key comes after ours, so buildx takes the user's", () => {
    const p = plan({ ...IMAGE, labels: 'org.opencontainers.image.title=Web service' })
    expect(p.common.labels.at(-1)).toBe('org.opencontainers.image.title=Web service')
    const bake = bakeDefinition(p.common, p.platforms, {
      kind: 'load',
      runtimeTag: p.local.runtime,
      baseTag: p.local.base
    })
    expect(bake.target['runtime']?.labels?.['org.opencontainers.image.title']).toBe('Web service')
    expect(bake.target['base']?.labels?.['org.opencontainers.image.title']).toBe('Web service')
    expect(bake.target['runtime']?.labels?.['org.opencontainers.image.version']).toBe('1.0.0')
  })
})
