import { describe, expect, test } from '@jest/globals'
import {
  BuildCommon,
  BuilderInfo,
  buildArgv,
  BuildRequest,
  chooseBuilder,
  createBuilderArgv,
  parseBuilderInfo
} from '../src/buildx.js'

const bare: BuildCommon = {
  dockerfile: '/tmp/ws/Dockerfile',
  context: '/work',
  buildArgs: [],
  labels: [],
  cacheFrom: [],
  cacheTo: [],
  noCacheFilters: [],
  provenance: 'mode=max'
}

const full: BuildCommon = {
  ...bare,
  builder: 'wheel-slim-abc',
  buildArgs: ['A=1', 'B=x y'],
  labels: ['org.opencontainers.image.source=https://github.com/o/r'],
  cacheFrom: ['type=gha'],
  cacheTo: ['type=gha,mode=max'],
  noCacheFilters: ['base'],
  pipConfFile: '/tmp/ws/pip.conf',
  wheelCacheDir: '/tmp/ws/wheel-cache'
}

const load: BuildRequest = {
  target: 'runtime',
  platforms: ['linux/arm/v7'],
  output: { kind: 'load', tag: 'wheel-slim-smoke/k:linux-arm-v7' },
  metadataFile: '/tmp/ws/m-smoke.json',
  noCache: true
}
const push: BuildRequest = {
  target: 'runtime',
  platforms: ['linux/amd64', 'linux/arm/v7'],
  output: { kind: 'push', tags: ['ghcr.io/o/a:1.0', 'ghcr.io/o/a:latest'] },
  metadataFile: '/tmp/ws/m-runtime.json',
  noCache: false
}
const local: BuildRequest = {
  target: 'wheels',
  platforms: ['linux/amd64', 'linux/arm/v7'],
  output: { kind: 'local', dest: '/tmp/ws/wheels-out' },
  metadataFile: '/tmp/ws/m-wheels.json',
  noCache: false
}

describe('buildArgv', () => {
  test.each<[string, BuildCommon, BuildRequest, string[]]>([
    [
      'load, nothing optional',
      bare,
      load,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'runtime',
        '--platform',
        'linux/arm/v7',
        '--provenance=false',
        '--metadata-file',
        '/tmp/ws/m-smoke.json',
        '--load',
        '--tag',
        'wheel-slim-smoke/k:linux-arm-v7',
        '/work'
      ]
    ],
    [
      'push, nothing optional: provenance as asked',
      bare,
      push,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'runtime',
        '--platform',
        'linux/amd64,linux/arm/v7',
        '--provenance=mode=max',
        '--metadata-file',
        '/tmp/ws/m-runtime.json',
        '--push',
        '--tag',
        'ghcr.io/o/a:1.0',
        '--tag',
        'ghcr.io/o/a:latest',
        '/work'
      ]
    ],
    [
      'local, nothing optional',
      bare,
      local,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'wheels',
        '--platform',
        'linux/amd64,linux/arm/v7',
        '--provenance=false',
        '--metadata-file',
        '/tmp/ws/m-wheels.json',
        '--output',
        'type=local,dest=/tmp/ws/wheels-out',
        '/work'
      ]
    ],
    [
      'load, everything: labels, no-cache-filter, no cache-to',
      full,
      load,
      [
        'buildx',
        'build',
        '--builder',
        'wheel-slim-abc',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'runtime',
        '--platform',
        'linux/arm/v7',
        '--provenance=false',
        '--build-arg',
        'A=1',
        '--build-arg',
        'B=x y',
        '--label',
        'org.opencontainers.image.source=https://github.com/o/r',
        '--cache-from',
        'type=gha',
        '--no-cache-filter',
        'base',
        '--secret',
        'id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf',
        '--build-context',
        'wheelcache=/tmp/ws/wheel-cache',
        '--metadata-file',
        '/tmp/ws/m-smoke.json',
        '--load',
        '--tag',
        'wheel-slim-smoke/k:linux-arm-v7',
        '/work'
      ]
    ],
    [
      'push, everything: provenance, labels, cache-to, no no-cache-filter',
      full,
      push,
      [
        'buildx',
        'build',
        '--builder',
        'wheel-slim-abc',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'runtime',
        '--platform',
        'linux/amd64,linux/arm/v7',
        '--provenance=mode=max',
        '--build-arg',
        'A=1',
        '--build-arg',
        'B=x y',
        '--label',
        'org.opencontainers.image.source=https://github.com/o/r',
        '--cache-from',
        'type=gha',
        '--cache-to',
        'type=gha,mode=max',
        '--secret',
        'id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf',
        '--build-context',
        'wheelcache=/tmp/ws/wheel-cache',
        '--metadata-file',
        '/tmp/ws/m-runtime.json',
        '--push',
        '--tag',
        'ghcr.io/o/a:1.0',
        '--tag',
        'ghcr.io/o/a:latest',
        '/work'
      ]
    ],
    [
      'push with noCache: the filter applies',
      { ...full, cacheTo: [], labels: [] },
      { ...push, noCache: true, output: { kind: 'push', tags: ['r:1'] } },
      [
        'buildx',
        'build',
        '--builder',
        'wheel-slim-abc',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'runtime',
        '--platform',
        'linux/amd64,linux/arm/v7',
        '--provenance=mode=max',
        '--build-arg',
        'A=1',
        '--build-arg',
        'B=x y',
        '--cache-from',
        'type=gha',
        '--no-cache-filter',
        'base',
        '--secret',
        'id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf',
        '--build-context',
        'wheelcache=/tmp/ws/wheel-cache',
        '--metadata-file',
        '/tmp/ws/m-runtime.json',
        '--push',
        '--tag',
        'r:1',
        '/work'
      ]
    ],
    [
      'local, everything: no labels, no cache-to, no provenance',
      full,
      local,
      [
        'buildx',
        'build',
        '--builder',
        'wheel-slim-abc',
        '--progress=plain',
        '--file',
        '/tmp/ws/Dockerfile',
        '--target',
        'wheels',
        '--platform',
        'linux/amd64,linux/arm/v7',
        '--provenance=false',
        '--build-arg',
        'A=1',
        '--build-arg',
        'B=x y',
        '--cache-from',
        'type=gha',
        '--secret',
        'id=wheel-slim-pip-conf,src=/tmp/ws/pip.conf',
        '--build-context',
        'wheelcache=/tmp/ws/wheel-cache',
        '--metadata-file',
        '/tmp/ws/m-wheels.json',
        '--output',
        'type=local,dest=/tmp/ws/wheels-out',
        '/work'
      ]
    ]
  ])('%s', (_name, common, request, expected) => {
    expect(buildArgv(common, request)).toEqual(expected)
  })

  test.each(['false', 'true', 'mode=min', 'mode=max'])(
    'provenance %s only reaches the push build',
    (provenance) => {
      const c = { ...bare, provenance }
      expect(buildArgv(c, push)).toContain(`--provenance=${provenance}`)
      expect(buildArgv(c, load)).toContain('--provenance=false')
      expect(buildArgv(c, local)).toContain('--provenance=false')
    }
  )

  test('a value that looks like a flag stays the value of its flag', () => {
    const argv = buildArgv({ ...bare, buildArgs: ['X=--push'], labels: ['l=--load'] }, load)
    expect(argv[argv.indexOf('--build-arg') + 1]).toBe('X=--push')
    expect(argv[argv.indexOf('--label') + 1]).toBe('l=--load')
    expect(argv.filter((a) => a === '--push')).toEqual([])
    expect(argv.filter((a) => a === '--load')).toEqual(['--load'])
  })

  test('the context is always the last element', () => {
    for (const r of [load, push, local]) expect(buildArgv(full, r).at(-1)).toBe('/work')
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

  test.each<[string, BuilderInfo, string[], boolean, 'current' | 'create']>([
    [
      'container builder covers both → current',
      container,
      ['linux/amd64', 'linux/arm/v7'],
      false,
      'current'
    ],
    ['container builder covers arm64 → current', container, ['linux/arm64'], false, 'current'],
    [
      'a platform is missing → create',
      dockerDriver,
      ['linux/amd64', 'linux/arm/v7'],
      true,
      'create'
    ],
    ['the only platform is missing → create', dockerDriver, ['linux/arm64'], false, 'create'],
    [
      'docker driver, several, no containerd → create',
      dockerWithQemu,
      ['linux/amd64', 'linux/arm/v7'],
      false,
      'create'
    ],
    [
      'docker driver, several, containerd store → current',
      dockerWithQemu,
      ['linux/amd64', 'linux/arm/v7'],
      true,
      'current'
    ],
    ['docker driver, single platform → current', dockerDriver, ['linux/amd64'], false, 'current'],
    [
      'docker driver, single emulated platform → current',
      dockerWithQemu,
      ['linux/arm/v7'],
      false,
      'current'
    ]
  ])('%s', (_name, info, platforms, containerd, use) => {
    const choice = chooseBuilder(info, platforms, containerd)
    expect(choice.use).toBe(use)
    if (choice.use === 'current') expect(choice.name).toBe(info.name)
  })

  test.each<[string, BuilderInfo, string[], 'current' | 'create']>([
    [
      'docker driver: the host runs arm/v7 though the list predates it',
      dockerDriver,
      ['linux/arm/v7'],
      'current'
    ],
    ['docker-container driver: likewise', container, ['linux/s390x'], 'current'],
    [
      'a remote driver: only its own list counts',
      { name: 'k8s', driver: 'kubernetes', platforms: ['linux/amd64'] },
      ['linux/arm/v7'],
      'create'
    ]
  ])('host platforms: %s', (_name, info, hostPlatforms, use) => {
    expect(chooseBuilder(info, ['linux/amd64', ...hostPlatforms], true, hostPlatforms).use).toBe(
      use
    )
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
    const choice = chooseBuilder(dockerWithQemu, ['linux/amd64', 'linux/arm/v7'], false)
    expect(choice.use === 'create' && choice.reason).toMatch(
      /^builder "default" .*containerd image store/
    )
  })

  test('a created builder uses the docker-container driver', () => {
    expect(createBuilderArgv('wheel-slim-k')).toEqual([
      'buildx',
      'create',
      '--name',
      'wheel-slim-k',
      '--driver',
      'docker-container',
      '--bootstrap'
    ])
  })
})
