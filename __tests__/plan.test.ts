import { describe, expect, test } from '@jest/globals'
import { join } from 'node:path'
import { buildArgv } from '../src/buildx.js'
import { localImageName, makePlan } from '../src/plan.js'
import { InputError } from '../src/validate.js'
import { execForm, parseDockerfile, pipRun, stage } from '../__fixtures__/dockerfile.js'
import { parse, PATHS, plan, pushContext, RUN_KEY, SHA } from '../__fixtures__/inputs.js'

const IMAGE = { image: 'ghcr.io/org/app' }

describe('makePlan: a release of one image on two platforms', () => {
  const p = plan(IMAGE, pushContext({ ref: 'refs/tags/v1.2.3' }))

  test('package, spec and the Dockerfile it renders', () => {
    expect(p.package).toEqual({ name: 'my-app', version: '1.0.0', module: 'my_app' })
    expect(p.spec).toMatchObject({
      baseFrom: 'python:3.12',
      fromParent: false,
      runtimeFrom: 'python:3.12-slim',
      wheelDir: '/wheeley',
      distPath: 'dist',
      requirement: 'my-app==1.0.0',
      module: 'my_app',
      extraIndex: false,
      wheelCache: true
    })
    const df = parseDockerfile(p.dockerfile)
    expect(df.stages.map((s) => s.name)).toEqual(['base', 'wheels', 'runtime'])
    expect(pipRun(stage(df, 'base'), 'wheel').argv.at(-1)).toBe('my-app==1.0.0')
    expect(execForm(df.instructions.at(-1) ?? { keyword: '', flags: [], args: '' })).toEqual([
      'python3',
      '-m',
      'my_app'
    ])
    expect(p.dockerfilePath).toBe(join(PATHS.tempDir, 'Dockerfile'))
  })

  test('tags: version tags, base = slim + suffix', () => {
    const slim = ['1.2.3', '1.2', '1', 'latest', `sha-${SHA.slice(0, 7)}`].map(
      (t) => `ghcr.io/org/app:${t}`
    )
    expect(p.slimTags).toEqual(slim)
    expect(p.baseTags).toEqual(slim.map((r) => `${r}-base`))
    expect(p.push).toEqual({ push: true, reason: expect.stringContaining('push') })
  })

  test('smoke builds: one per platform, single-platform, --load, noCache, distinct images', () => {
    expect(p.smokeBuilds.map((s) => s.platform)).toEqual(['linux/amd64', 'linux/arm/v7'])
    for (const s of p.smokeBuilds) {
      expect(s.request.platforms).toEqual([s.platform])
      expect(s.request.target).toBe('runtime')
      expect(s.request.noCache).toBe(true)
      expect(s.request.output).toEqual({ kind: 'load', tag: s.image })
      expect(s.image).toBe(localImageName(RUN_KEY, s.platform))
      const argv = buildArgv(p.common, s.request)
      expect(argv).toContain('--load')
      expect(argv).not.toContain('--push')
      expect(argv[argv.indexOf('--platform') + 1]).toBe(s.platform)
    }
    const images = p.smokeBuilds.map((s) => s.image)
    expect(new Set(images).size).toBe(images.length)
    const metadata = p.smokeBuilds.map((s) => s.request.metadataFile)
    expect(new Set(metadata).size).toBe(metadata.length)
  })

  test('wheels, base and runtime builds use every platform', () => {
    for (const r of [p.wheelsBuild, p.baseBuild, p.runtimeBuild]) {
      expect(r.platforms).toEqual(['linux/amd64', 'linux/arm/v7'])
      expect(r.noCache).toBe(false)
    }
    expect(p.wheelsBuild.target).toBe('wheels')
    expect(p.wheelsBuild.output).toEqual({ kind: 'local', dest: p.wheelsDir })
    expect(p.wheelsDir.startsWith(PATHS.tempDir)).toBe(true)
  })

  test('a multi-platform push writes the first tag; execute points the others at its index', () => {
    expect(p.slimTags.length).toBeGreaterThan(1)
    expect(p.baseBuild.target).toBe('base')
    expect(p.baseBuild.output).toEqual({ kind: 'push', tags: p.baseTags.slice(0, 1) })
    expect(p.runtimeBuild.target).toBe('runtime')
    expect(p.runtimeBuild.output).toEqual({ kind: 'push', tags: p.slimTags.slice(0, 1) })
  })

  test('a single-platform push writes every tag (imagetools would wrap a lone manifest)', () => {
    const one = plan(
      { ...IMAGE, platforms: 'linux/amd64' },
      pushContext({ ref: 'refs/tags/v1.2.3' })
    )
    expect(one.baseBuild.output).toEqual({ kind: 'push', tags: one.baseTags })
    expect(one.runtimeBuild.output).toEqual({ kind: 'push', tags: one.slimTags })
    expect(one.slimTags.length).toBeGreaterThan(1)
  })

  test('every build writes its own metadata file in the temp dir', () => {
    const files = [
      p.wheelsBuild,
      p.baseBuild,
      p.runtimeBuild,
      ...p.smokeBuilds.map((s) => s.request)
    ].map((r) => r.metadataFile)
    expect(new Set(files).size).toBe(files.length)
    for (const f of files) expect(f.startsWith(PATHS.tempDir)).toBe(true)
  })

  test('the common build settings point at the Dockerfile and the workspace', () => {
    expect(p.common).toMatchObject({
      dockerfile: p.dockerfilePath,
      context: PATHS.workspace,
      provenance: 'false'
    })
  })

  test('the default smoke test imports the module', () => {
    expect(p.smokeTest).toBe("python3 -c 'import my_app'")
    expect(plan({ ...IMAGE, module: 'my_app.cli' }).smokeTest).toBe(
      "python3 -c 'import my_app.cli'"
    )
    expect(plan({ ...IMAGE, 'smoke-test': 'my-app --version' }).smokeTest).toBe('my-app --version')
  })
})

describe('makePlan: variants', () => {
  test('platforms input drives every build', () => {
    const p = plan({ ...IMAGE, platforms: 'linux/arm64' })
    expect(p.platforms).toEqual(['linux/arm64'])
    expect(p.smokeBuilds).toHaveLength(1)
    expect(p.runtimeBuild.platforms).toEqual(['linux/arm64'])
  })

  test('dockerfile-only without image: a plan with no tags', () => {
    const p = plan({ 'dockerfile-only': 'true' })
    expect(p.slimTags).toEqual([])
    expect(p.baseTags).toEqual([])
    expect(p.baseBuild.output).toEqual({ kind: 'push', tags: [] })
    expect(parseDockerfile(p.dockerfile).stages).toHaveLength(3)
  })

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

  test('a pull request: pr-N and sha tags, not pushed', () => {
    const ctx = pushContext({ eventName: 'pull_request', ref: 'refs/pull/4/merge', prNumber: 4 })
    const p = plan(IMAGE, ctx)
    expect(p.push.push).toBe(false)
    expect(p.slimTags).toEqual(['ghcr.io/org/app:pr-4', `ghcr.io/org/app:sha-${SHA.slice(0, 7)}`])
  })

  test('a parent becomes the base FROM', () => {
    const p = plan({ ...IMAGE, parent: 'ghcr.io/org/svc:1.0-base' })
    expect(p.spec.baseFrom).toBe('ghcr.io/org/svc:1.0-base')
    expect(p.spec.fromParent).toBe(true)
    expect(stage(parseDockerfile(p.dockerfile), 'base').from).toBe('ghcr.io/org/svc:1.0-base')
  })

  test.each<[string, Record<string, string>, boolean]>([
    ['cache true (default)', {}, true],
    ['cache false', { cache: 'false' }, false],
    ['dockerfile-only', { 'dockerfile-only': 'true' }, false],
    ['cache false and dockerfile-only', { cache: 'false', 'dockerfile-only': 'true' }, false]
  ])('wheelCacheDir: %s → %s', (_name, extra, cached) => {
    const p = plan({ ...IMAGE, ...extra })
    expect(p.spec.wheelCache).toBe(cached)
    expect(p.common.wheelCacheDir).toBe(cached ? join(PATHS.tempDir, 'wheel-cache') : undefined)
    expect(p.cache === undefined).toBe(!cached)
    const argv = buildArgv(p.common, p.smokeBuilds[0]?.request ?? p.wheelsBuild)
    expect(argv.some((a) => a.startsWith('wheelcache='))).toBe(cached)
  })

  test('the wheel cache key material: prefix and fingerprint, no secret', () => {
    const p = plan({
      ...IMAGE,
      'cache-key': 'svc',
      'build-packages': 'libpq-dev',
      'pip-args': '--pre',
      'extra-index-url': 'https://u:tok@pkgs.example.org/simple'
    })
    expect(p.cache).toEqual({
      prefix: 'svc',
      fingerprint: { builder: 'python:3.12', buildPackages: ['libpq-dev'], pipArgs: ['--pre'] }
    })
    expect(JSON.stringify(p.cache)).not.toContain('tok')
  })

  test.each<[string, string, boolean]>([
    ['without extra-index-url', '', false],
    ['with extra-index-url', 'https://u:tok@pkgs.example.org/simple', true]
  ])('pipConfFile %s', (_name, url, secret) => {
    const p = plan({ ...IMAGE, 'extra-index-url': url })
    expect(p.spec.extraIndex).toBe(secret)
    expect(p.common.pipConfFile).toBe(secret ? join(PATHS.tempDir, 'pip.conf') : undefined)
    const argv = buildArgv(p.common, p.runtimeBuild)
    expect(argv.includes('--secret')).toBe(secret)
    expect(argv.join(' ')).not.toContain('tok')
    expect(p.dockerfile).not.toContain('tok')
  })

  test('a file whose version is not PEP 440-ish is no distribution: names "dist"', () => {
    expect(() =>
      makePlan(parse(IMAGE), pushContext(), ['my_app-1.0,0.tar.gz'], PATHS, RUN_KEY)
    ).toThrow(/^Input "dist": "dist" is not valid/)
  })

  test('a default module that is no Python identifier names "module"', () => {
    expect(() =>
      makePlan(parse(IMAGE), pushContext(), ['3to2-1.0.tar.gz'], PATHS, RUN_KEY)
    ).toThrow(/^Input "module": "3to2" is not valid/)
    expect(
      makePlan(
        parse({ ...IMAGE, module: 'lib3to2' }),
        pushContext(),
        ['3to2-1.0.tar.gz'],
        PATHS,
        RUN_KEY
      ).package.module
    ).toBe('lib3to2')
  })

  test.each(['linux/amd64', 'linux/arm64,linux/arm/v7', 'linux/386\nlinux/386', ',', ' ,\n, '])(
    'platforms %j: every pushed platform is smoke-tested first, and there is one',
    (platforms) => {
      let p: ReturnType<typeof plan>
      try {
        p = plan({ ...IMAGE, platforms })
      } catch (e) {
        expect((e as Error).message).toMatch(/^Input "platforms": /)
        return
      }
      const smoked = p.smokeBuilds.map((s) => s.platform)
      expect(smoked.length).toBeGreaterThan(0)
      expect(p.runtimeBuild.platforms.filter((x) => !smoked.includes(x))).toEqual([])
      expect(p.baseBuild.platforms.filter((x) => !smoked.includes(x))).toEqual([])
      expect(buildArgv(p.common, p.runtimeBuild)).not.toContain('')
    }
  )

  // "FROM base AS runtime" would build the slim image on the fat base stage: an image input
  // must never be read as the name of one of the Dockerfile's own stages.
  test.each<[string, string]>([
    ['runtime-image', 'base'],
    ['runtime-image', 'wheels'],
    ['builder-image', 'runtime'],
    ['parent', 'wheels']
  ])('%s %j is an image, never one of the stages', (name, value) => {
    let p: ReturnType<typeof plan>
    try {
      p = plan({ ...IMAGE, [name]: value })
    } catch (e) {
      expect(e).toBeInstanceOf(InputError)
      expect((e as Error).message).toMatch(`Input "${name}"`)
      return
    }
    const df = parseDockerfile(p.dockerfile)
    const stages = df.stages.map((s) => s.name)
    expect(
      df.stages.filter((s) => stages.includes(s.from)).map((s) => `FROM ${s.from} AS ${s.name}`)
    ).toEqual([])
  })

  test('localImageName is a valid local reference per platform', () => {
    expect(localImageName('k1', 'linux/arm/v7')).toBe('wheel-slim-smoke/k1:linux-arm-v7')
  })
})
