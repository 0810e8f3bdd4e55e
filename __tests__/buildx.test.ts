import { describe, expect, test } from '@jest/globals'
import {
  BakeDefinition,
  bakeArgv,
  bakeDefinition,
  bakeFile,
  BakeTarget,
  BuildCommon,
  BuilderInfo,
  buildArgv,
  chooseBuilder,
  createBuilderArgv,
  Delivery,
  LOAD_OUTPUT,
  parseBuilderInfo
} from '../src/buildx.js'
import { hclLiteral, mapStrings } from '../__fixtures__/hcl.js'

const bare: BuildCommon = {
  dockerfile: '/tmp/ws/Dockerfile',
  context: '/work',
  toolsDir: '/tmp/ws/tools',
  args: { SOURCE_DATE_EPOCH: '1700000000' },
  labels: [],
  baseLabels: [],
  annotations: [],
  cacheFrom: [],
  cacheTo: [],
  noCacheFilters: [],
  provenance: 'false',
  network: 'default'
}

const full: BuildCommon = {
  ...bare,
  args: { A: '1', B: 'x y', SOURCE_DATE_EPOCH: '1700000000' },
  labels: ['org.opencontainers.image.source=https://github.com/o/r', 'eq=a=b'],
  baseLabels: [
    'org.opencontainers.image.source=https://github.com/o/r',
    'io.wheel-slim.wheel-dir=/wheeley'
  ],
  cacheFrom: ['type=gha'],
  cacheTo: ['type=gha,mode=max'],
  noCacheFilters: ['compile'],
  provenance: 'mode=max',
  network: 'host',
  pipConfFile: '/tmp/ws/pip.conf',
  wheelCacheDir: '/tmp/ws/wheel-cache'
}

const PLATFORMS = ['linux/amd64', 'linux/arm/v7']
const load = {
  kind: 'load',
  runtimeTag: 'wheel-slim-local/k:runtime',
  baseTag: 'wheel-slim-local/k:base'
} satisfies Delivery
const digest = {
  kind: 'digest',
  runtimeRepository: 'ghcr.io/o/a',
  baseRepository: 'ghcr.io/o/a'
} satisfies Delivery
const PUSH_BY_DIGEST = 'push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=true'

describe('bakeDefinition: whole definitions', () => {
  test('nothing optional, load delivery, no wheels export', () => {
    const common = {
      context: '/work',
      dockerfile: '/tmp/ws/Dockerfile',
      platforms: PLATFORMS,
      contexts: { 'wheel-slim-tools': '/tmp/ws/tools' },
      args: { SOURCE_DATE_EPOCH: '1700000000' }
    }
    expect(bakeDefinition(bare, PLATFORMS, load)).toEqual({
      group: { default: { targets: ['runtime', 'base'] } },
      target: {
        runtime: {
          ...common,
          target: 'runtime',
          labels: {},
          attest: ['type=provenance,disabled=true'],
          tags: ['wheel-slim-local/k:runtime'],
          output: [LOAD_OUTPUT]
        },
        base: {
          ...common,
          target: 'base',
          labels: {},
          attest: ['type=provenance,disabled=true'],
          tags: ['wheel-slim-local/k:base'],
          output: [LOAD_OUTPUT]
        }
      }
    })
  })

  test('everything, digest delivery, wheels exported', () => {
    const common = {
      context: '/work',
      dockerfile: '/tmp/ws/Dockerfile',
      platforms: PLATFORMS,
      contexts: { 'wheel-slim-tools': '/tmp/ws/tools', wheelcache: '/tmp/ws/wheel-cache' },
      args: { A: '1', B: 'x y', SOURCE_DATE_EPOCH: '1700000000' },
      secret: ['id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf'],
      network: 'host',
      'cache-from': ['type=gha'],
      'no-cache-filter': ['compile']
    }
    expect(bakeDefinition(full, PLATFORMS, digest, '/tmp/ws/wheels-out')).toEqual({
      group: { default: { targets: ['runtime', 'base', 'wheels'] } },
      target: {
        runtime: {
          ...common,
          target: 'runtime',
          labels: { 'org.opencontainers.image.source': 'https://github.com/o/r', eq: 'a=b' },
          attest: ['type=provenance,mode=max'],
          'cache-to': ['type=gha,mode=max'],
          output: [`type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`]
        },
        base: {
          ...common,
          target: 'base',
          labels: {
            'org.opencontainers.image.source': 'https://github.com/o/r',
            'io.wheel-slim.wheel-dir': '/wheeley'
          },
          attest: ['type=provenance,mode=max'],
          output: [`type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`]
        },
        wheels: { ...common, target: 'wheels', output: ['type=local,dest=/tmp/ws/wheels-out'] }
      }
    })
  })
})

const targets = (d: BakeDefinition): [string, BakeTarget][] => Object.entries(d.target)

describe('bakeDefinition: one aspect at a time', () => {
  test.each<[string, Delivery, Record<string, string[]>, Record<string, string[] | undefined>]>([
    [
      'load: into the image store under the local tags',
      load,
      { runtime: [LOAD_OUTPUT], base: [LOAD_OUTPUT], wheels: ['type=local,dest=/w'] },
      { runtime: [load.runtimeTag], base: [load.baseTag], wheels: undefined }
    ],
    [
      'digest: pushed by digest, no tag',
      digest,
      {
        runtime: [`type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`],
        base: [`type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`],
        wheels: ['type=local,dest=/w']
      },
      { runtime: undefined, base: undefined, wheels: undefined }
    ]
  ])('outputs and tags, %s', (_name, delivery, outputs, tags) => {
    const d = bakeDefinition(bare, PLATFORMS, delivery, '/w')
    expect(Object.fromEntries(targets(d).map(([n, t]) => [n, t.output]))).toEqual(outputs)
    expect(Object.fromEntries(targets(d).map(([n, t]) => [n, t.tags]))).toEqual(tags)
    expect(d.group.default.targets).toEqual(Object.keys(d.target))
  })

  test('the targets build the stages of the same name, on every platform', () => {
    const d = bakeDefinition(full, ['linux/arm64'], load, '/w')
    for (const [name, t] of targets(d)) {
      expect(t.target).toBe(name)
      expect(t.platforms).toEqual(['linux/arm64'])
      expect(t.context).toBe(full.context)
      expect(t.dockerfile).toBe(full.dockerfile)
    }
  })

  test.each<[string, string, Delivery, string]>([
    ['false', 'false', digest, 'type=provenance,disabled=true'],
    ['true', 'true', digest, 'type=provenance,mode=min'],
    ['mode=min', 'mode=min', digest, 'type=provenance,mode=min'],
    ['mode=max', 'mode=max', digest, 'type=provenance,mode=max'],
    ['load, mode=max: disabled', 'mode=max', load, 'type=provenance,disabled=true'],
    ['load, true: disabled', 'true', load, 'type=provenance,disabled=true']
  ])('provenance %s', (_name, provenance, delivery, attest) => {
    const d = bakeDefinition({ ...bare, provenance }, PLATFORMS, delivery, '/w')
    expect(d.target['runtime']?.attest).toEqual([attest])
    expect(d.target['base']?.attest).toEqual([attest])
    expect(d.target['wheels']?.attest).toBeUndefined()
  })

  test.each<[BuildCommon['network'], string | undefined]>([
    ['default', undefined],
    ['host', 'host'],
    ['none', 'none']
  ])('network %s reaches every target as %s', (network, expected) => {
    const d = bakeDefinition({ ...bare, network }, PLATFORMS, load, '/w')
    for (const [, t] of targets(d)) expect(t.network).toBe(expected)
  })

  test.each<[string, Partial<BuildCommon>, (t: BakeTarget) => unknown, unknown]>([
    ['no pip.conf: no secret', {}, (t) => t.secret, undefined],
    [
      'pip.conf: a secret, never a build argument',
      { pipConfFile: '/s/pip.conf' },
      (t) => [t.secret, Object.values(t.args).filter((v) => v.includes('pip.conf'))],
      [['id=wheel-slim-pip-conf,src=/s/pip.conf'], []]
    ],
    [
      'no wheel cache: the tools only',
      {},
      (t) => t.contexts,
      { 'wheel-slim-tools': '/tmp/ws/tools' }
    ],
    [
      'wheel cache: a named context',
      { wheelCacheDir: '/c' },
      (t) => t.contexts,
      { 'wheel-slim-tools': '/tmp/ws/tools', wheelcache: '/c' }
    ],
    [
      'cache-from on every target',
      { cacheFrom: ['type=gha'] },
      (t) => t['cache-from'],
      ['type=gha']
    ],
    [
      'no-cache-filter on every target',
      { noCacheFilters: ['resolve', 'compile'] },
      (t) => t['no-cache-filter'],
      ['resolve', 'compile']
    ],
    [
      'args, SOURCE_DATE_EPOCH included, on every target',
      { args: { A: '=b', SOURCE_DATE_EPOCH: '42' } },
      (t) => t.args,
      { A: '=b', SOURCE_DATE_EPOCH: '42' }
    ]
  ])('%s', (_name, change, pick, expected) => {
    const d = bakeDefinition({ ...bare, ...change }, PLATFORMS, digest, '/w')
    for (const [, t] of targets(d)) expect(pick(t)).toEqual(expected)
  })

  test('cache-to only on the runtime target; labels on the images, not on the wheel set', () => {
    const d = bakeDefinition(full, PLATFORMS, digest, '/w')
    expect(targets(d).map(([n, t]) => [n, t['cache-to']])).toEqual([
      ['runtime', ['type=gha,mode=max']],
      ['base', undefined],
      ['wheels', undefined]
    ])
    expect(d.target['runtime']?.labels).toEqual({
      'org.opencontainers.image.source': 'https://github.com/o/r',
      eq: 'a=b'
    })
    expect(Object.keys(d.target['base']?.labels ?? {})).toEqual([
      'org.opencontainers.image.source',
      'io.wheel-slim.wheel-dir'
    ])
    expect(d.target['wheels']?.labels).toBeUndefined()
  })

  test('annotations on both images; a single-platform target drops the index ones', () => {
    const annotations = ['index:org.opencontainers.image.title=app', 'manifest:k=v']
    const loadEach: Delivery = {
      kind: 'load-each',
      runtimeTags: { 'linux/amd64': 'l:amd64', 'linux/arm/v7': 'l:arm' }
    }
    const pick = (d: BakeDefinition): [string, string[] | undefined][] =>
      targets(d).map(([n, t]) => [n, t.annotations])
    expect(pick(bakeDefinition({ ...bare, annotations }, PLATFORMS, load, '/w'))).toEqual([
      ['runtime', annotations],
      ['base', annotations],
      ['wheels', undefined]
    ])
    expect(pick(bakeDefinition({ ...bare, annotations }, ['linux/amd64'], digest))).toEqual([
      ['runtime', ['manifest:k=v']],
      ['base', ['manifest:k=v']]
    ])
    expect(pick(bakeDefinition({ ...bare, annotations }, PLATFORMS, loadEach))).toEqual([
      ['runtime-linux-amd64', ['manifest:k=v']],
      ['runtime-linux-arm-v7', ['manifest:k=v']]
    ])
    const t = bakeDefinition({ ...bare, annotations }, PLATFORMS, load).target['runtime']
    const argv = buildArgv(t as BakeTarget, '/m')
    expect(argv.filter((_, i) => argv[i - 1] === '--annotation')).toEqual(annotations)
  })

  test('without a wheels destination there is no wheels target', () => {
    const d = bakeDefinition(full, PLATFORMS, load)
    expect(Object.keys(d.target)).toEqual(['runtime', 'base'])
    expect(d.group.default.targets).toEqual(['runtime', 'base'])
  })
})

describe('bakeDefinition: what each delivery builds', () => {
  const loadNoBase: Delivery = { kind: 'load', runtimeTag: load.runtimeTag }
  const loadEach: Delivery = {
    kind: 'load-each',
    runtimeTags: {
      'linux/amd64': 'wheel-slim-local/k:runtime-linux-amd64',
      'linux/arm/v7': 'wheel-slim-local/k:runtime-linux-arm-v7'
    }
  }
  const BY_DIGEST = [`type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`]
  const WHEELS = {
    target: 'wheels',
    platforms: PLATFORMS,
    output: ['type=local,dest=/w'],
    tags: undefined
  }

  // [name, delivery, per target: the stage it builds, platforms, outputs, tags]
  test.each<
    [string, Delivery, Record<string, Pick<BakeTarget, 'target' | 'platforms' | 'output' | 'tags'>>]
  >([
    [
      'load with a base tag (a run that pushes): runtime and base loaded under their tags',
      load,
      {
        runtime: {
          target: 'runtime',
          platforms: PLATFORMS,
          output: [LOAD_OUTPUT],
          tags: [load.runtimeTag]
        },
        base: {
          target: 'base',
          platforms: PLATFORMS,
          output: [LOAD_OUTPUT],
          tags: [load.baseTag]
        },
        wheels: WHEELS
      }
    ],
    [
      'load without a base tag (a run that does not push): no base target',
      loadNoBase,
      {
        runtime: {
          target: 'runtime',
          platforms: PLATFORMS,
          output: [LOAD_OUTPUT],
          tags: [load.runtimeTag]
        },
        wheels: WHEELS
      }
    ],
    [
      'load-each: one single-platform runtime target per platform, each loaded under its own tag',
      loadEach,
      {
        'runtime-linux-amd64': {
          target: 'runtime',
          platforms: ['linux/amd64'],
          output: [LOAD_OUTPUT],
          tags: ['wheel-slim-local/k:runtime-linux-amd64']
        },
        'runtime-linux-arm-v7': {
          target: 'runtime',
          platforms: ['linux/arm/v7'],
          output: [LOAD_OUTPUT],
          tags: ['wheel-slim-local/k:runtime-linux-arm-v7']
        },
        wheels: WHEELS
      }
    ],
    [
      'digest: runtime and base pushed by digest, untagged',
      digest,
      {
        runtime: { target: 'runtime', platforms: PLATFORMS, output: BY_DIGEST, tags: undefined },
        base: { target: 'base', platforms: PLATFORMS, output: BY_DIGEST, tags: undefined },
        wheels: WHEELS
      }
    ]
  ])('%s', (_name, delivery, expected) => {
    const d = bakeDefinition(bare, PLATFORMS, delivery, '/w')
    expect(
      Object.fromEntries(
        targets(d).map(([n, t]) => [
          n,
          { target: t.target, platforms: t.platforms, output: t.output, tags: t.tags }
        ])
      )
    ).toEqual(expected)
    expect(d.group.default.targets).toEqual(Object.keys(expected))
  })

  test('load without a base tag: the runtime target is the one of a load with it', () => {
    const withBase = bakeDefinition(full, PLATFORMS, load, '/w')
    const without = bakeDefinition(full, PLATFORMS, loadNoBase, '/w')
    expect(without.target['runtime']).toEqual(withBase.target['runtime'])
    expect(without.target['wheels']).toEqual(withBase.target['wheels'])
    expect(without.target['base']).toBeUndefined()
  })

  test('load-each: each platform target is the loaded runtime target on that platform alone, without cache-to', () => {
    const { 'cache-to': cacheTo, ...loaded } = bakeDefinition(full, PLATFORMS, load, '/w').target[
      'runtime'
    ] as BakeTarget
    // One target per platform would each overwrite the same cache export.
    expect(cacheTo).toEqual(full.cacheTo)
    const each = bakeDefinition(full, PLATFORMS, loadEach, '/w')
    for (const [platform, tag] of Object.entries(
      (loadEach as Extract<Delivery, { kind: 'load-each' }>).runtimeTags
    )) {
      const name = `runtime-${platform.replace(/\//g, '-')}`
      expect(each.target[name]).toEqual({ ...loaded, platforms: [platform], tags: [tag] })
    }
    // Nothing of load-each is pushed, so nothing carries provenance or a registry output.
    for (const [, t] of targets(each)) {
      expect(t.output.join()).not.toMatch(/push=true|type=registry|type=image/)
    }
    expect(targets(each).map(([n, t]) => [n, t.attest])).toEqual([
      ['runtime-linux-amd64', ['type=provenance,disabled=true']],
      ['runtime-linux-arm-v7', ['type=provenance,disabled=true']],
      ['wheels', undefined]
    ])
  })

  test.each<[string, string[], string[]]>([
    ['one platform', ['linux/arm64'], ['runtime-linux-arm64']],
    [
      'variants are kept apart',
      ['linux/arm/v6', 'linux/arm/v7', 'linux/arm64'],
      ['runtime-linux-arm-v6', 'runtime-linux-arm-v7', 'runtime-linux-arm64']
    ],
    [
      'four platforms',
      ['linux/amd64', 'linux/386', 'linux/ppc64le', 'linux/s390x'],
      ['runtime-linux-amd64', 'runtime-linux-386', 'runtime-linux-ppc64le', 'runtime-linux-s390x']
    ]
  ])('load-each target names, %s', (_name, platforms, names) => {
    const runtimeTags = Object.fromEntries(platforms.map((p, i) => [p, `l/k:t${i}`]))
    const d = bakeDefinition(bare, platforms, { kind: 'load-each', runtimeTags }, '/w')
    expect(Object.keys(d.target)).toEqual([...names, 'wheels'])
    expect(names.map((n) => d.target[n]?.platforms)).toEqual(platforms.map((p) => [p]))
    expect(names.map((n) => d.target[n]?.tags)).toEqual(platforms.map((_p, i) => [`l/k:t${i}`]))
    expect(d.target['wheels']?.platforms).toEqual(platforms)
  })
})

describe('bakeFile: the definition as buildx reads it', () => {
  /** Undoes the HCL escapes the way the brief states them: "$${" → "${", "%%{" → "%{". */
  const unescape = (s: string): string =>
    s.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{')

  const withValue = (value: string): BakeDefinition =>
    bakeDefinition(
      {
        ...full,
        args: { V: value, SOURCE_DATE_EPOCH: '1700000000' },
        labels: [`l=${value}`],
        baseLabels: [`b=${value}`],
        cacheFrom: [`type=local,src=/c/${value}`],
        cacheTo: [`type=local,dest=/c/${value}`]
      },
      PLATFORMS,
      { kind: 'load', runtimeTag: `t:${value}`, baseTag: `b:${value}` },
      `/w/${value}`
    )

  test.each<[string]>([
    ['${x}'],
    ['%{'],
    ['%{ if true }y%{ endif }'],
    ['$${'],
    ['a$${b}'],
    ['$$'],
    ['100%'],
    ['%%{'],
    ['$$${x}'],
    ['ends with $'],
    ['ends with %'],
    ['${x} and $${y} and %{z} and %%{w} and $x and 100%'],
    ['plain']
  ])('%j: parsed and un-escaped, it is the definition again', (value) => {
    const d = withValue(value)
    const parsed: unknown = JSON.parse(bakeFile(d))
    expect(mapStrings(parsed, unescape)).toEqual(d)
    // Read as HCL templates, no string interpolates anything: each is its literal value.
    expect(mapStrings(parsed, hclLiteral)).toEqual(d)
  })

  test('a definition with nothing to escape is written as it is', () => {
    const d = bakeDefinition(full, PLATFORMS, digest, '/tmp/ws/wheels-out')
    expect(JSON.parse(bakeFile(d))).toEqual(d)
  })

  test('only strings change: keys, arrays and the structure are kept', () => {
    const d = withValue('${x}')
    const parsed = JSON.parse(bakeFile(d)) as BakeDefinition
    expect(Object.keys(parsed.target)).toEqual(Object.keys(d.target))
    expect(parsed.group).toEqual(d.group)
    expect(parsed.target['runtime']?.args).toEqual({
      V: '$${x}',
      SOURCE_DATE_EPOCH: '1700000000'
    })
    expect(parsed.target['runtime']?.labels).toEqual({ l: '$${x}' })
  })
})

describe('bakeArgv', () => {
  test.each<[string, string | undefined, string[]]>([
    [
      'the current builder',
      undefined,
      [
        'buildx',
        'bake',
        '--progress=plain',
        '--file',
        '/t/bake.json',
        '--metadata-file',
        '/t/m.json'
      ]
    ],
    [
      'a created builder',
      'wheel-slim-k',
      [
        'buildx',
        'bake',
        '--builder',
        'wheel-slim-k',
        '--progress=plain',
        '--file',
        '/t/bake.json',
        '--metadata-file',
        '/t/m.json'
      ]
    ]
  ])('%s', (_name, builder, expected) => {
    expect(bakeArgv('/t/bake.json', '/t/m.json', builder)).toEqual(expected)
  })
})

describe('buildArgv: one bake target as a buildx build call', () => {
  const d = bakeDefinition(full, PLATFORMS, digest, '/tmp/ws/wheels-out')
  const runtime = d.target['runtime'] as BakeTarget
  const wheels = d.target['wheels'] as BakeTarget

  test('the runtime target, everything set', () => {
    expect(buildArgv(runtime, '/tmp/ws/m.runtime', 'wheel-slim-k')).toEqual([
      'buildx',
      'build',
      '--builder',
      'wheel-slim-k',
      '--progress=plain',
      '--file',
      '/tmp/ws/Dockerfile',
      '--target',
      'runtime',
      '--platform',
      'linux/amd64,linux/arm/v7',
      '--build-context',
      'wheel-slim-tools=/tmp/ws/tools',
      '--build-context',
      'wheelcache=/tmp/ws/wheel-cache',
      '--build-arg',
      'A=1',
      '--build-arg',
      'B=x y',
      '--build-arg',
      'SOURCE_DATE_EPOCH=1700000000',
      '--label',
      'org.opencontainers.image.source=https://github.com/o/r',
      '--label',
      'eq=a=b',
      '--output',
      `type=image,name=ghcr.io/o/a,${PUSH_BY_DIGEST}`,
      '--secret',
      'id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf',
      '--network',
      'host',
      '--cache-from',
      'type=gha',
      '--cache-to',
      'type=gha,mode=max',
      '--no-cache-filter',
      'compile',
      '--attest',
      'type=provenance,mode=max',
      '--metadata-file',
      '/tmp/ws/m.runtime',
      '/work'
    ])
  })

  test('the wheels target, current builder: local output, no labels, attest or cache-to', () => {
    const argv = buildArgv(wheels, '/m')
    expect(argv.slice(0, 3)).toEqual(['buildx', 'build', '--progress=plain'])
    expect(argv[argv.indexOf('--output') + 1]).toBe('type=local,dest=/tmp/ws/wheels-out')
    for (const absent of ['--builder', '--label', '--attest', '--cache-to', '--tag']) {
      expect(argv).not.toContain(absent)
    }
  })

  test('loaded images get their local tag', () => {
    const t = bakeDefinition(bare, ['linux/amd64'], load).target['base'] as BakeTarget
    const argv = buildArgv(t, '/m')
    expect(argv[argv.indexOf('--tag') + 1]).toBe(load.baseTag)
    expect(argv[argv.indexOf('--output') + 1]).toBe(LOAD_OUTPUT)
    expect(argv).not.toContain('--network')
  })

  test('a value that looks like a flag stays the value of its flag; the context is last', () => {
    const t = bakeDefinition(
      { ...bare, args: { X: '--push' }, labels: ['l=--load'] },
      PLATFORMS,
      load
    ).target['runtime'] as BakeTarget
    const argv = buildArgv(t, '/m')
    expect(argv[argv.indexOf('--build-arg') + 1]).toBe('X=--push')
    expect(argv[argv.indexOf('--label') + 1]).toBe('l=--load')
    expect(argv.filter((a) => a === '--push' || a === '--load')).toEqual([])
    expect(argv.at(-1)).toBe('/work')
  })

  test('every field of every target reaches the argv', () => {
    for (const [name, t] of targets(d)) {
      const argv = buildArgv(t, `/m.${name}`).join('\n')
      const values = [
        ...Object.entries(t.contexts).map(([k, v]) => `${k}=${v}`),
        ...Object.entries(t.args).map(([k, v]) => `${k}=${v}`),
        ...Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`),
        ...(t.annotations ?? []),
        ...(t.tags ?? []),
        ...t.output,
        ...(t.secret ?? []),
        ...(t['cache-from'] ?? []),
        ...(t['cache-to'] ?? []),
        ...(t['no-cache-filter'] ?? []),
        ...(t.attest ?? [])
      ]
      for (const v of values) expect(argv.split('\n')).toContain(v)
    }
  })
})

// `docker buildx inspect --bootstrap` as buildx prints it.
const DOCKER_DRIVER = `Name:          default
Driver:        docker
Last Activity: 2024-06-01 10:11:12 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.13.2
Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1
GC Policy rule#0:
 All:            false
 Filters:        type==source.local,type==exec.cachemount,type==source.git.checkout
 Keep Duration:  48h0m0s
 Keep Bytes:     2.764GiB
`

const CONTAINER_DRIVER = `Name:          builder-2f9c
Driver:        docker-container
Last Activity: 2024-06-01 10:11:12 +0000 UTC

Nodes:
Name:                  builder-2f9c0
Endpoint:              unix:///var/run/docker.sock
Driver Options:        image="moby/buildkit:buildx-stable-1" network="host"
Status:                running
BuildKit daemon flags: --allow-insecure-entitlement=network.host
BuildKit version:      v0.14.1
Platforms:             linux/amd64*, linux/arm/v7*, linux/amd64/v2, linux/amd64/v3, linux/arm64, linux/riscv64, linux/ppc64le, linux/s390x, linux/386, linux/mips64le, linux/mips64, linux/arm/v6
Labels:
 org.mobyproject.buildkit.worker.executor:         oci
 org.mobyproject.buildkit.worker.hostname:         f0c1d2e3
 org.mobyproject.buildkit.worker.network:          host
 org.mobyproject.buildkit.worker.oci.process-mode: sandbox
 org.mobyproject.buildkit.worker.selinux.enabled:  false
 org.mobyproject.buildkit.worker.snapshotter:      overlayfs
GC Policy rule#0:
 All:           false
 Filters:       type==source.local,type==exec.cachemount,type==source.git.checkout
 Keep Duration: 48h0m0s
`

// buildx < 0.11: no "Last Activity", "Buildkit:" instead of "BuildKit version:"
const OLD_BUILDX = `Name:   default
Driver: docker

Nodes:
Name:      default
Endpoint:  default
Status:    running
Buildkit:  20.10.25
Platforms: linux/amd64, linux/386
`

describe('parseBuilderInfo', () => {
  test.each<[string, string, BuilderInfo]>([
    [
      'docker driver',
      DOCKER_DRIVER,
      {
        name: 'default',
        driver: 'docker',
        platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/386']
      }
    ],
    [
      'docker-container driver, platforms with *',
      CONTAINER_DRIVER,
      {
        name: 'builder-2f9c',
        driver: 'docker-container',
        platforms: [
          'linux/amd64',
          'linux/arm/v7',
          'linux/amd64/v2',
          'linux/amd64/v3',
          'linux/arm64',
          'linux/riscv64',
          'linux/ppc64le',
          'linux/s390x',
          'linux/386',
          'linux/mips64le',
          'linux/mips64',
          'linux/arm/v6'
        ]
      }
    ],
    [
      'older buildx',
      OLD_BUILDX,
      { name: 'default', driver: 'docker', platforms: ['linux/amd64', 'linux/386'] }
    ],
    [
      'CRLF line ends',
      OLD_BUILDX.replace(/\n/g, '\r\n'),
      { name: 'default', driver: 'docker', platforms: ['linux/amd64', 'linux/386'] }
    ],
    ['empty output', '', { name: '', driver: '', platforms: [] }]
  ])('%s', (_name, text, expected) => {
    expect(parseBuilderInfo(text)).toEqual(expected)
  })
})

describe('chooseBuilder', () => {
  const dockerDriver = parseBuilderInfo(DOCKER_DRIVER)
  const container = parseBuilderInfo(CONTAINER_DRIVER)
  const dockerWithQemu: BuilderInfo = {
    ...dockerDriver,
    platforms: [...dockerDriver.platforms, 'linux/arm/v7', 'linux/arm64']
  }
  const remote: BuilderInfo = {
    name: 'cloud',
    driver: 'remote',
    platforms: ['linux/amd64', 'linux/arm/v7']
  }

  // [name, builder, platforms, containerd store, host platforms, use, delivery]
  test.each<
    [string, BuilderInfo, string[], boolean, string[], 'current' | 'create', 'load' | 'digest' | '']
  >([
    [
      'container builder covers both → digest',
      container,
      PLATFORMS,
      false,
      [],
      'current',
      'digest'
    ],
    [
      'container builder covers arm64 → digest',
      container,
      ['linux/arm64'],
      false,
      [],
      'current',
      'digest'
    ],
    [
      'a remote builder that covers both → digest',
      remote,
      PLATFORMS,
      false,
      [],
      'current',
      'digest'
    ],
    ['a platform is missing → create', dockerDriver, PLATFORMS, true, [], 'create', ''],
    [
      'the only platform is missing → create',
      dockerDriver,
      ['linux/arm64'],
      false,
      [],
      'create',
      ''
    ],
    [
      'docker driver, several, no containerd → create',
      dockerWithQemu,
      PLATFORMS,
      false,
      [],
      'create',
      ''
    ],
    [
      'docker driver, several, containerd store → load',
      dockerWithQemu,
      PLATFORMS,
      true,
      [],
      'current',
      'load'
    ],
    [
      'docker driver, one platform, no containerd → load',
      dockerDriver,
      ['linux/amd64'],
      false,
      [],
      'current',
      'load'
    ],
    [
      'docker driver, one emulated platform → load',
      dockerWithQemu,
      ['linux/arm/v7'],
      false,
      [],
      'current',
      'load'
    ],
    [
      'docker driver: the host runs arm/v7 though the list predates it → load',
      dockerDriver,
      PLATFORMS,
      true,
      ['linux/arm/v7'],
      'current',
      'load'
    ],
    [
      'docker-container driver: likewise → digest',
      container,
      ['linux/amd64', 'linux/s390x'],
      true,
      ['linux/s390x'],
      'current',
      'digest'
    ],
    [
      'a remote driver: only its own list counts → create',
      { name: 'k8s', driver: 'kubernetes', platforms: ['linux/amd64'] },
      PLATFORMS,
      true,
      ['linux/arm/v7'],
      'create',
      ''
    ]
  ])('%s', (_name, info, platforms, containerd, host, use, delivery) => {
    const choice = chooseBuilder(info, platforms, containerd, host)
    expect(choice.use).toBe(use)
    if (choice.use === 'current') {
      expect(choice).toEqual({ use: 'current', name: info.name, delivery })
    } else {
      expect(choice.reason).toMatch(new RegExp(`^builder "${info.name}" `))
    }
  })

  test('the reason names the builder and the missing platforms', () => {
    expect(
      chooseBuilder(dockerDriver, ['linux/amd64', 'linux/arm/v7', 'linux/s390x'], true)
    ).toEqual({
      use: 'create',
      reason: 'builder "default" cannot build linux/arm/v7, linux/s390x'
    })
  })

  test('the reason for the docker driver names the image store', () => {
    const choice = chooseBuilder(dockerWithQemu, PLATFORMS, false)
    expect(choice.use === 'create' && choice.reason).toMatch(
      /^builder "default" .*containerd image store/
    )
  })
})

describe('createBuilderArgv', () => {
  const base = ['buildx', 'create', '--name', 'wheel-slim-k', '--driver', 'docker-container']
  test.each<[BuildCommon['network'], string[]]>([
    ['default', [...base, '--bootstrap']],
    ['none', [...base, '--bootstrap']],
    [
      'host',
      [...base, '--buildkitd-flags', '--allow-insecure-entitlement network.host', '--bootstrap']
    ]
  ])('network %s', (network, expected) => {
    expect(createBuilderArgv('wheel-slim-k', network)).toEqual(expected)
  })
})
