import { describe, expect, test } from '@jest/globals'
import { DEFAULT_PYTHON, INPUT_DEFAULTS, INPUT_NAMES, InputName } from '../src/constants.js'
import { STAGE_NAMES } from '../src/dockerfile.js'
import { parseInputs, withDefaults } from '../src/inputs.js'
import { buildArg, InputError, oneOf, stageName } from '../src/validate.js'
import { parse, plan, RawInputs, reader } from '../__fixtures__/inputs.js'

describe('parseInputs: defaults', () => {
  const inputs = parse({})

  test('documented defaults', () => {
    expect(inputs).toEqual({
      images: [],
      tags: [],
      tagPrefix: '',
      tagSuffix: '',
      baseSuffix: '-base',
      archTags: false,
      archTagFormat: '{tag}-{arch}',
      merge: false,
      dist: 'dist',
      package: '',
      module: '',
      requirements: '',
      pythonVersion: '3.12',
      builderImage: 'python:3.12',
      runtimeImage: 'python:3.12-slim',
      parent: '',
      wheelDir: '/wheeley',
      platforms: ['linux/amd64', 'linux/arm/v7'],
      push: '',
      buildPackages: [],
      runtimePackages: [],
      pipArgs: [],
      extraIndexUrl: '',
      buildArgs: [],
      cacheFrom: [],
      cacheTo: [],
      noCacheFilters: [],
      labels: [],
      annotations: [],
      smokeTest: '',
      provenance: 'false',
      qemuImage: 'docker.io/tonistiigi/binfmt:qemu-v7.0.0-28',
      dockerfileOnly: false,
      cache: true,
      cacheKey: 'wheel-slim',
      network: 'default',
      autoRuntimePackages: true
    })
  })

  test('blank values (whitespace only) take the default too', () => {
    const blank = Object.fromEntries(INPUT_NAMES.map((n) => [n, ' \n\t '])) as RawInputs
    expect(parse(blank)).toEqual(inputs)
  })

  test('withDefaults trims and falls back to INPUT_DEFAULTS', () => {
    const read = withDefaults(reader({ dist: '  out  ', 'wheel-dir': '' }))
    expect(read('dist')).toBe('out')
    expect(read('wheel-dir')).toBe(INPUT_DEFAULTS['wheel-dir'])
  })

  test('the reader is only asked for declared input names', () => {
    const asked = new Set<string>()
    parseInputs((name) => {
      asked.add(name)
      return ''
    })
    expect([...asked].every((n) => (INPUT_NAMES as string[]).includes(n))).toBe(true)
    expect(asked.size).toBe(INPUT_NAMES.length)
  })
})

describe('parseInputs: accepted values', () => {
  test.each<[string, RawInputs, Partial<ReturnType<typeof parse>>]>([
    [
      'python-version picks both images',
      { 'python-version': '3.11' },
      { pythonVersion: '3.11', builderImage: 'python:3.11', runtimeImage: 'python:3.11-slim' }
    ],
    [
      'explicit images win over python-version',
      { 'python-version': '3.10', 'builder-image': 'ghcr.io/o/b:1', 'runtime-image': 'alpine' },
      { builderImage: 'ghcr.io/o/b:1', runtimeImage: 'alpine' }
    ],
    [
      'image list, newline and comma',
      { image: 'ghcr.io/org/app,\n docker.io/org/app \n\n' },
      { images: ['ghcr.io/org/app', 'docker.io/org/app'] }
    ],
    ['tags list', { tags: '1.2.3\nlatest, edge' }, { tags: ['1.2.3', 'latest', 'edge'] }],
    [
      'platforms newline-separated, deduplicated, linux/arm64 accepted',
      { platforms: 'linux/arm64\nlinux/amd64\nlinux/arm64' },
      { platforms: ['linux/arm64', 'linux/amd64'] }
    ],
    ['single platform', { platforms: 'linux/arm64' }, { platforms: ['linux/arm64'] }],
    [
      'pip-args split on any whitespace',
      { 'pip-args': '--pre\t--only-binary   :all:\n--find-links=/x' },
      { pipArgs: ['--pre', '--only-binary', ':all:', '--find-links=/x'] }
    ],
    [
      'pip-args keep shell metacharacters inside one element',
      { 'pip-args': '--index-url=https://x/$(id);` "q"' },
      { pipArgs: ['--index-url=https://x/$(id);`', '"q"'] }
    ],
    [
      'apt packages by comma, newline or space; pins kept',
      { 'build-packages': 'libpq-dev gcc,\nlibffi-dev=3.4.4-1', 'runtime-packages': 'libpq5' },
      { buildPackages: ['libpq-dev', 'gcc', 'libffi-dev=3.4.4-1'], runtimePackages: ['libpq5'] }
    ],
    [
      'build-args and labels only split on newlines (commas stay)',
      {
        'build-args': 'A=1,2\nB=$(id); rm -rf /',
        labels: 'org.opencontainers.image.source=https://x/y,z\nfoo/bar=',
        'cache-from': 'type=gha\ntype=registry,ref=ghcr.io/o/a:cache',
        'cache-to': 'type=gha,mode=max'
      },
      {
        buildArgs: ['A=1,2', 'B=$(id); rm -rf /'],
        labels: ['org.opencontainers.image.source=https://x/y,z', 'foo/bar='],
        cacheFrom: ['type=gha', 'type=registry,ref=ghcr.io/o/a:cache'],
        cacheTo: ['type=gha,mode=max']
      }
    ],
    [
      "docker/metadata-action's annotations output, as it writes it",
      {
        annotations: [
          'manifest:org.opencontainers.image.description=A, B',
          'index:org.opencontainers.image.title=app',
          'manifest[linux/amd64]:org.example.arch=x86-64',
          'org.example.plain='
        ].join('\n')
      },
      {
        annotations: [
          'manifest:org.opencontainers.image.description=A, B',
          'index:org.opencontainers.image.title=app',
          'manifest[linux/amd64]:org.example.arch=x86-64',
          'org.example.plain='
        ]
      }
    ],
    [
      'paths are cleaned',
      { dist: './build/dist/', requirements: './req.txt', 'wheel-dir': '/opt/wheels//' },
      { dist: 'build/dist', requirements: 'req.txt', wheelDir: '/opt/wheels' }
    ],
    ['push is case-insensitive', { push: 'TRUE' }, { push: 'true' }],
    ['push false', { push: 'False' }, { push: 'false' }],
    [
      'booleans are case-insensitive',
      { 'dockerfile-only': 'True', cache: 'FALSE', 'auto-runtime-packages': 'False' },
      { dockerfileOnly: true, cache: false, autoRuntimePackages: false }
    ],
    [
      'auto-runtime-packages true',
      { 'auto-runtime-packages': 'TRUE' },
      { autoRuntimePackages: true }
    ],
    [
      'auto-runtime-packages false keeps runtime-packages',
      { 'auto-runtime-packages': 'false', 'runtime-packages': 'libpq5' },
      { autoRuntimePackages: false, runtimePackages: ['libpq5'] }
    ],
    ['provenance mode=max', { provenance: 'mode=max' }, { provenance: 'mode=max' }],
    ['provenance true', { provenance: 'true' }, { provenance: 'true' }],
    [
      'package, module, parent',
      { package: 'My_Pkg', module: 'my_pkg.cli', parent: 'ghcr.io/org/svc:1.0-base' },
      { package: 'My_Pkg', module: 'my_pkg.cli', parent: 'ghcr.io/org/svc:1.0-base' }
    ],
    [
      'extra-index-url with a token',
      { 'extra-index-url': 'https://user:s3cr3t@pkgs.example.org/simple' },
      { extraIndexUrl: 'https://user:s3cr3t@pkgs.example.org/simple' }
    ],
    [
      'smoke-test keeps newlines and quotes',
      { 'smoke-test': "python3 -c 'import my_app'\nmy-app --version" },
      { smokeTest: "python3 -c 'import my_app'\nmy-app --version" }
    ],
    [
      'no-cache-filters and cache-key',
      { 'no-cache-filters': 'base, runtime', 'cache-key': 'svc.v2' },
      { noCacheFilters: ['base', 'runtime'], cacheKey: 'svc.v2' }
    ],
    [
      'no-cache-filters: every stage of the generated Dockerfile',
      { 'no-cache-filters': STAGE_NAMES.join('\n') },
      { noCacheFilters: STAGE_NAMES }
    ],
    ['network host', { network: 'host' }, { network: 'host' }],
    ['network none', { network: ' none ' }, { network: 'none' }],
    ['network default', { network: 'default' }, { network: 'default' }],
    [
      'build-args that only look like reserved names',
      { 'build-args': 'TARGET=1\nBUILDPLATFORM_X=2\nsource_date_epoch=3\nMY_BUILDKIT_X=4' },
      {
        buildArgs: ['TARGET=1', 'BUILDPLATFORM_X=2', 'source_date_epoch=3', 'MY_BUILDKIT_X=4']
      }
    ],
    ['base-suffix', { 'base-suffix': '_wheels.v1' }, { baseSuffix: '_wheels.v1' }],
    [
      'tag-prefix and tag-suffix',
      { 'tag-prefix': 'rpi-', 'tag-suffix': '-slim' },
      { tagPrefix: 'rpi-', tagSuffix: '-slim' }
    ],
    [
      'arch-tags with one platform (a matrix job)',
      { 'arch-tags': 'true', platforms: 'linux/arm/v7' },
      { archTags: true, merge: false, platforms: ['linux/arm/v7'] }
    ],
    [
      'arch-tags: one platform given twice is one platform',
      { 'arch-tags': 'True', platforms: 'linux/arm64\nlinux/arm64' },
      { archTags: true, platforms: ['linux/arm64'] }
    ],
    [
      'arch-tag-format for one platform: rpi-{tag}',
      { 'arch-tags': 'true', platforms: 'linux/arm/v7', 'arch-tag-format': 'rpi-{tag}' },
      { archTagFormat: 'rpi-{tag}' }
    ],
    [
      'merge of several platforms',
      { merge: 'TRUE', platforms: 'linux/amd64,linux/arm/v7' },
      { merge: true, archTags: false, platforms: ['linux/amd64', 'linux/arm/v7'] }
    ],
    [
      'merge of one platform needs no {arch}',
      { merge: 'true', platforms: 'linux/arm/v7', 'arch-tag-format': 'rpi-{tag}' },
      { merge: true, archTagFormat: 'rpi-{tag}' }
    ],
    [
      'merge with {arch} before {tag}',
      { merge: 'true', 'arch-tag-format': '{arch}-{tag}' },
      { merge: true, archTagFormat: '{arch}-{tag}' }
    ]
  ])('%s', (_name, raw, expected) => {
    expect(parse(raw)).toMatchObject(expected)
  })
})

// [input, bad value, value the message quotes (default: the value), what is accepted]
type BadRow = [InputName, string, string | undefined, string]

const MOUNT = '--mount=type=bind,source=/,target=/x'
const BAD: BadRow[] = [
  ['image', 'x;rm -rf /', undefined, 'an image repository'],
  ['image', 'a\nRUN evil', 'RUN evil', 'an image repository'],
  ['image', '$(id)', undefined, 'an image repository'],
  ['image', '"quoted"', undefined, 'an image repository'],
  ['image', '../etc', undefined, 'an image repository'],
  ['image', MOUNT, '--mount=type=bind', 'an image repository'],
  ['image', 'ghcr.io/Org/app', undefined, 'lowercase, no tag'],
  ['image', 'ghcr.io/org/app:1.0', undefined, 'lowercase, no tag'],
  ['base-suffix', 'x;rm -rf /', undefined, 'a tag suffix'],
  ['base-suffix', 'a\nRUN evil', undefined, 'a tag suffix'],
  ['base-suffix', '$(id)', undefined, 'a tag suffix'],
  ['base-suffix', '"quoted"', undefined, 'a tag suffix'],
  ['base-suffix', '../etc', undefined, 'a tag suffix'],
  ['base-suffix', MOUNT, undefined, 'a tag suffix'],
  ['base-suffix', 'x'.repeat(65), undefined, 'a tag suffix'],
  ['tag-prefix', 'x;rm -rf /', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-prefix', 'rpi/', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-prefix', 'a b', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-prefix', 'a\nRUN evil', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-prefix', 'x'.repeat(65), undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-prefix', 'rpi:', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-suffix', '$(id)', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-suffix', '-slim:1', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-suffix', '-{arch}', undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['tag-suffix', 'x'.repeat(65), undefined, 'letters, digits, "_", "." and "-" (at most 64)'],
  ['arch-tags', 'yes', undefined, '"true" or "false"'],
  ['arch-tags', 'Yes', undefined, '"true" or "false"'],
  ['arch-tags', '$(id)', undefined, '"true" or "false"'],
  ['arch-tags', 'linux/arm/v7', undefined, '"true" or "false"'],
  ['arch-tag-format', '{arch}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', 'rpi', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '{tag}/{arch}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '{tag}-{tag}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '{tag}-{platform}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '{TAG}-{arch}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '$(id){tag}', undefined, 'a format holding "{tag}"'],
  ['arch-tag-format', '{tag}-{arch}\nRUN evil', undefined, 'e.g. "{tag}-{arch}" or "rpi-{tag}"'],
  ['merge', 'yes', undefined, '"true" or "false"'],
  ['merge', 'Yes', undefined, '"true" or "false"'],
  ['merge', '1', undefined, '"true" or "false"'],
  ['dist', '../etc', undefined, 'a path inside the workspace'],
  ['dist', '/etc', undefined, 'a path inside the workspace'],
  ['dist', 'x;rm -rf /', undefined, 'a path inside the workspace'],
  ['dist', 'a\nRUN evil', undefined, 'a path inside the workspace'],
  ['dist', '$(id)', undefined, 'a path inside the workspace'],
  ['dist', '"quoted"', undefined, 'a path inside the workspace'],
  ['dist', 'dist,target=/etc', undefined, 'a path inside the workspace'],
  ['dist', MOUNT, undefined, 'a path inside the workspace'],
  ['dist', 'a/../../b', undefined, '(no "..")'],
  ['package', 'x;rm -rf /', undefined, 'a PEP 508 package name'],
  ['package', 'a\nRUN evil', undefined, 'a PEP 508 package name'],
  ['package', '$(id)', undefined, 'a PEP 508 package name'],
  ['package', '"quoted"', undefined, 'a PEP 508 package name'],
  ['package', '../etc', undefined, 'a PEP 508 package name'],
  ['package', MOUNT, undefined, 'a PEP 508 package name'],
  ['package', 'my-app==1.0', undefined, 'a PEP 508 package name'],
  ['package', '-app', undefined, 'a PEP 508 package name'],
  ['module', 'my-app', undefined, 'a dotted Python module name'],
  ['module', 'x;rm -rf /', undefined, 'a dotted Python module name'],
  ['module', 'a\nRUN evil', undefined, 'a dotted Python module name'],
  ['module', '$(id)', undefined, 'a dotted Python module name'],
  ['module', '"quoted"', undefined, 'a dotted Python module name'],
  ['module', '../etc', undefined, 'a dotted Python module name'],
  ['module', "__import__('os')", undefined, 'a dotted Python module name'],
  ['module', '1abc', undefined, 'a dotted Python module name'],
  ['requirements', '../etc/passwd', undefined, 'a path inside the workspace'],
  ['requirements', '/etc/passwd', undefined, 'a path inside the workspace'],
  ['requirements', 'x;rm -rf /', undefined, 'a path inside the workspace'],
  ['requirements', 'a\nRUN evil', undefined, 'a path inside the workspace'],
  ['requirements', '$(id)', undefined, 'a path inside the workspace'],
  ['requirements', '"quoted"', undefined, 'a path inside the workspace'],
  ['requirements', MOUNT, undefined, 'a path inside the workspace'],
  ['python-version', '3', undefined, 'a Python minor version'],
  ['python-version', '3.12.1', undefined, 'a Python minor version'],
  ['python-version', '2.7', undefined, 'a Python minor version'],
  ['python-version', 'x;rm -rf /', undefined, 'a Python minor version'],
  ['python-version', '3.12\nRUN evil', undefined, 'a Python minor version'],
  ['python-version', '$(id)', undefined, 'a Python minor version'],
  ['python-version', '"quoted"', undefined, 'a Python minor version'],
  ['builder-image', 'python:3.12 AS evil', undefined, 'an image reference'],
  ['builder-image', 'python:3.12\nRUN evil', undefined, 'an image reference'],
  ['builder-image', 'x;rm -rf /', undefined, 'an image reference'],
  ['builder-image', '$(id)', undefined, 'an image reference'],
  ['builder-image', '"quoted"', undefined, 'an image reference'],
  ['builder-image', '../etc', undefined, 'an image reference'],
  ['builder-image', '--platform=linux/arm64 python', undefined, 'an image reference'],
  ['builder-image', 'Python:3', undefined, 'an image reference'],
  ['runtime-image', 'python:3.12-slim AS x', undefined, 'an image reference'],
  ['runtime-image', 'a\nRUN evil', undefined, 'an image reference'],
  ['runtime-image', '$(id)', undefined, 'an image reference'],
  ['runtime-image', '"quoted"', undefined, 'an image reference'],
  ['runtime-image', MOUNT, undefined, 'an image reference'],
  ['runtime-image', 'python@sha256:abc', undefined, 'an image reference'],
  // a stage name of the generated Dockerfile would make a stage build on a stage
  ['builder-image', 'parent-native', undefined, 'parent, parent-native, scratch)'],
  ['builder-image', 'parent', undefined, 'not a stage name of the generated Dockerfile'],
  ['runtime-image', 'Parent-Native', undefined, 'not a stage name of the generated Dockerfile'],
  ['parent', 'parent-native', undefined, 'not a stage name of the generated Dockerfile'],
  ['parent', 'x;rm -rf /', undefined, 'an image reference'],
  ['parent', 'a\nRUN evil', undefined, 'an image reference'],
  ['parent', '$(id)', undefined, 'an image reference'],
  ['parent', '"quoted"', undefined, 'an image reference'],
  ['parent', '../etc', undefined, 'an image reference'],
  ['parent', MOUNT, undefined, 'an image reference'],
  ['parent', 'ghcr.io/org/svc:1.0-base@x@y', undefined, 'an image reference'],
  ['wheel-dir', 'wheeley', undefined, 'an absolute directory'],
  ['wheel-dir', '/', undefined, 'an absolute directory'],
  ['wheel-dir', '/a/../etc', undefined, 'an absolute directory'],
  ['wheel-dir', '/a b', undefined, 'an absolute directory'],
  ['wheel-dir', '/w,target=/etc', undefined, 'an absolute directory'],
  ['wheel-dir', 'x;rm -rf /', undefined, 'an absolute directory'],
  ['wheel-dir', '/a\nRUN evil', undefined, 'an absolute directory'],
  ['wheel-dir', '/$(id)', undefined, 'an absolute directory'],
  ['wheel-dir', '/"quoted"', undefined, 'an absolute directory'],
  ['wheel-dir', '../etc', undefined, 'an absolute directory'],
  ['wheel-dir', MOUNT, undefined, 'an absolute directory'],
  ['platforms', 'linux/mips', undefined, 'one of linux/amd64, linux/arm64, linux/arm/v7'],
  ['platforms', 'windows/amd64', undefined, 'one of linux/amd64'],
  ['platforms', 'x;rm -rf /', undefined, 'one of linux/amd64'],
  ['platforms', 'linux/amd64\nRUN evil', 'RUN evil', 'one of linux/amd64'],
  ['platforms', '$(id)', undefined, 'one of linux/amd64'],
  ['platforms', '"quoted"', undefined, 'one of linux/amd64'],
  ['platforms', '../etc', undefined, 'one of linux/amd64'],
  ['platforms', MOUNT, '--mount=type=bind', 'one of linux/amd64'],
  ['push', 'yes', undefined, '"true" or "false"'],
  ['push', 'x;rm -rf /', undefined, '"true" or "false"'],
  ['push', '$(id)', undefined, '"true" or "false"'],
  ['push', '"quoted"', undefined, '"true" or "false"'],
  ['push', '../etc', undefined, '"true" or "false"'],
  // The message must quote what the user wrote, not a lowercased copy.
  ['push', 'Yes', undefined, '"true" or "false"'],
  ['push', 'a\nRUN evil', undefined, '"true" or "false"'],
  ['build-packages', 'x;rm -rf /', 'x;rm', 'Debian package names'],
  ['build-packages', 'libpq-dev\nRUN evil', 'RUN', 'Debian package names'],
  ['build-packages', '$(id)', undefined, 'Debian package names'],
  ['build-packages', '"quoted"', undefined, 'Debian package names'],
  ['build-packages', '../etc', undefined, 'Debian package names'],
  ['build-packages', '-o', undefined, 'Debian package names'],
  ['build-packages', MOUNT, '--mount=type=bind', 'Debian package names'],
  ['runtime-packages', 'x;rm -rf /', 'x;rm', 'Debian package names'],
  ['runtime-packages', 'a\nRUN evil', 'a', 'Debian package names'],
  ['runtime-packages', '$(id)', undefined, 'Debian package names'],
  ['runtime-packages', 'Libpq5', undefined, 'Debian package names'],
  ['runtime-packages', 'libpq5=$(id)', undefined, 'Debian package names'],
  ['pip-args', 'x;rm -rf /', 'x;rm', 'pip options starting with "-"'],
  ['pip-args', '$(id)', undefined, 'pip options starting with "-"'],
  ['pip-args', '"quoted"', undefined, 'pip options starting with "-"'],
  ['pip-args', '../etc', undefined, 'pip options starting with "-"'],
  ['pip-args', '--pre évil', 'évil', 'pip options of printable ASCII'],
  ['pip-args', '--pre \u0000', '\u0000', 'pip options of printable ASCII'],
  ['build-args', 'x;rm -rf /', undefined, 'lines of KEY=value'],
  ['build-args', 'a\nRUN evil', 'a', 'lines of KEY=value'],
  ['build-args', '$(id)=x', undefined, 'lines of KEY=value'],
  ['build-args', '"quoted"', undefined, 'lines of KEY=value'],
  ['build-args', '../etc', undefined, 'lines of KEY=value'],
  ['build-args', MOUNT, undefined, 'lines of KEY=value'],
  ['build-args', 'A=b\rc', undefined, 'lines of KEY=value'],
  ['cache-from', 'x;rm -rf /', undefined, 'buildx cache specs'],
  ['cache-from', 'type=gha, mode=max', undefined, 'buildx cache specs'],
  ['cache-from', 'type=gha,\u00a0mode=max', undefined, 'buildx cache specs'],
  ['cache-to', 'x;rm -rf /', undefined, 'buildx cache specs'],
  ['cache-to', 'type=gha,\tmode=max', undefined, 'buildx cache specs'],
  ['no-cache-filters', 'Base', undefined, 'stage names'],
  ['no-cache-filters', 'x;rm -rf /', undefined, 'stage names'],
  ['no-cache-filters', '$(id)', undefined, 'stage names'],
  ['no-cache-filters', '"quoted"', undefined, 'stage names'],
  ['no-cache-filters', '../etc', undefined, 'stage names'],
  ['no-cache-filters', MOUNT, '--mount=type=bind', 'stage names'],
  ['no-cache-filters', 'base\nRUN evil', 'RUN evil', 'stage names'],
  ['labels', 'x;rm -rf /', undefined, 'lines of key=value'],
  ['labels', 'a\nRUN evil', 'a', 'lines of key=value'],
  ['labels', '$(id)=x', undefined, 'lines of key=value'],
  ['labels', '"quoted"=x', undefined, 'lines of key=value'],
  ['labels', '../etc=x', undefined, 'lines of key=value'],
  ['labels', '=x', undefined, 'lines of key=value'],
  ['annotations', 'x;rm -rf /', undefined, 'lines of [level:]key=value'],
  ['annotations', 'a\nRUN evil', 'a', 'lines of [level:]key=value'],
  ['annotations', '$(id)=x', undefined, 'lines of [level:]key=value'],
  ['annotations', 'layer:k=v', undefined, 'lines of [level:]key=value'],
  ['annotations', 'index[linux/amd64]:k=v', undefined, 'a manifest level may name platforms'],
  ['annotations', 'manifest[$(id)]:k=v', undefined, 'lines of [level:]key=value'],
  ['annotations', 'manifest:=v', undefined, 'lines of [level:]key=value'],
  ['smoke-test', 'true\rRUN evil', undefined, 'a shell command'],
  ['smoke-test', 'true\u0000', undefined, 'a shell command'],
  ['smoke-test', 'x'.repeat(4097), undefined, 'a shell command'],
  ['provenance', 'yes', undefined, '"false", "true", "mode=min" or "mode=max"'],
  ['provenance', 'mode=full', undefined, '"mode=min" or "mode=max"'],
  ['provenance', 'x;rm -rf /', undefined, '"mode=min" or "mode=max"'],
  ['provenance', '$(id)', undefined, '"mode=min" or "mode=max"'],
  ['provenance', 'a\nRUN evil', undefined, '"mode=min" or "mode=max"'],
  ['provenance', 'True', undefined, '"mode=min" or "mode=max"'],
  ['qemu-image', 'x;rm -rf /', undefined, 'an image reference'],
  ['qemu-image', 'a\nRUN evil', undefined, 'an image reference'],
  ['qemu-image', '$(id)', undefined, 'an image reference'],
  ['qemu-image', '--privileged', undefined, 'an image reference'],
  ['dockerfile-only', 'yes', undefined, '"true" or "false"'],
  ['dockerfile-only', '1', undefined, '"true" or "false"'],
  ['dockerfile-only', '$(id)', undefined, '"true" or "false"'],
  ['dockerfile-only', 'Yes', undefined, '"true" or "false"'],
  ['auto-runtime-packages', 'yes', undefined, '"true" or "false"'],
  ['auto-runtime-packages', '1', undefined, '"true" or "false"'],
  ['auto-runtime-packages', 'Yes', undefined, '"true" or "false"'],
  ['auto-runtime-packages', '$(id)', undefined, '"true" or "false"'],
  ['auto-runtime-packages', 'true\nRUN evil', undefined, '"true" or "false"'],
  ['auto-runtime-packages', 'libpq5', undefined, '"true" or "false"'],
  ['cache', 'no', undefined, '"true" or "false"'],
  ['cache', 'x;rm -rf /', undefined, '"true" or "false"'],
  ['cache', 'a\nRUN evil', undefined, '"true" or "false"'],
  ['cache-key', 'a b', undefined, 'a key prefix'],
  ['cache-key', 'x;rm -rf /', undefined, 'a key prefix'],
  ['cache-key', '$(id)', undefined, 'a key prefix'],
  ['cache-key', '"quoted"', undefined, 'a key prefix'],
  ['cache-key', '../etc', undefined, 'a key prefix'],
  ['cache-key', '-lead', undefined, 'a key prefix'],
  ['cache-key', 'x'.repeat(65), undefined, 'a key prefix'],
  ['cache-key', 'a\nRUN evil', undefined, 'a key prefix'],
  ['network', 'bridge', undefined, '"default", "host", "none"'],
  ['network', 'Host', undefined, '"default", "host", "none"'],
  ['network', 'host none', undefined, '"default", "host", "none"'],
  ['network', 'x;rm -rf /', undefined, '"default", "host", "none"'],
  ['network', 'host\nRUN evil', undefined, '"default", "host", "none"'],
  ['network', '$(id)', undefined, '"default", "host", "none"'],
  ['build-args', 'TARGETPLATFORM=linux/arm64', undefined, 'a build argument of your own'],
  ['build-args', 'TARGETARCH=arm64', undefined, 'a build argument of your own'],
  ['build-args', 'BUILDPLATFORM=linux/amd64', undefined, 'a build argument of your own'],
  ['build-args', 'BUILDOS=linux', undefined, 'a build argument of your own'],
  ['build-args', 'TARGETVARIANT=v7', undefined, 'a build argument of your own'],
  ['build-args', 'SOURCE_DATE_EPOCH=0', undefined, 'a build argument of your own'],
  ['build-args', 'BUILDKIT_INLINE_CACHE=1', undefined, 'a build argument of your own'],
  ['build-args', 'BUILDKIT_SYNTAX=docker/dockerfile:1', undefined, 'a build argument of your own'],
  ['no-cache-filters', 'parent', undefined, 'stage names'],
  ['no-cache-filters', 'runtime_base', undefined, 'stage names']
]

const SECRET_BAD = [
  'ftp://pkgs.example.org/simple',
  'not a url',
  'https://user:s3cr3t@pkgs.example.org/ simple',
  'https://user:s3cr3t@pkgs.example.org/simple\nRUN evil',
  'javascript:alert(1)',
  'file:///etc/passwd',
  '$(id)',
  'x;rm -rf /',
  '--mount=type=secret,id=x',
  'https://tok\u00e9n@pkgs.example.org/'
]

describe('parseInputs: bad values name the input, the value and what is accepted', () => {
  test.each(BAD)('%s = %j', (input, value, quoted, accepted) => {
    let error: unknown
    try {
      parse({ [input]: value })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    const message = (error as Error).message
    const prefix = `Input "${input}": ${JSON.stringify(quoted ?? value)} is not valid; expected `
    expect(message.slice(0, prefix.length)).toBe(prefix)
    expect(message).toContain(accepted)
    expect(message.endsWith('.')).toBe(true)
    // the value never reaches the message unquoted (no raw newline or control character)
    expect(message).not.toMatch(/[\n\r]/)
    expect(message).not.toContain('\u0000')
  })

  test.each(SECRET_BAD)('extra-index-url = %j is refused without echoing it', (value) => {
    const run = (): unknown => parse({ 'extra-index-url': value })
    expect(run).toThrow(InputError)
    expect(run).toThrow(
      'Input "extra-index-url": "***" is not valid; expected an http(s) URL of a package index.'
    )
    let message = ''
    try {
      run()
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).not.toContain(value.trim())
    expect(message).not.toContain('s3cr3t')
  })

  // tags are validated when resolved against the images (bare tag or full reference)
  test.each<[string, string, string]>([
    ['x;rm -rf /', 'x;rm -rf /', 'a bare tag such as "1.2.3"'],
    ['$(id)', '$(id)', 'a tag of letters'],
    ['"quoted"', '"quoted"', 'a tag of letters'],
    ['../etc', '../etc', 'a bare tag such as "1.2.3"'],
    ['1.0\nRUN evil', 'RUN evil', 'a tag of letters'],
    [MOUNT, '--mount=type=bind', 'a tag of letters'],
    ['-rc', '-rc', 'not starting with "." or "-"'],
    ['ghcr.io/org/app', 'ghcr.io/org/app', 'a full reference such as']
  ])('tags = %j (through makePlan)', (value, quoted, accepted) => {
    const run = (): unknown => plan({ image: 'ghcr.io/org/app', tags: value })
    expect(run).toThrow(InputError)
    expect(run).toThrow(`Input "tags": ${JSON.stringify(quoted)} is not valid; expected `)
    expect(run).toThrow(accepted)
  })

  // A list of separators only is not blank (so no default) but holds no platform: nothing
  // would be smoke-tested and buildx would get --platform "".
  test.each([',', ' , \n ,'])('platforms %j (no platform at all) names "platforms"', (value) => {
    expect(() => parse({ platforms: value })).toThrow(InputError)
    expect(() => parse({ platforms: value })).toThrow(/^Input "platforms": /)
  })

  // Inputs that are fine alone but not together: the message names the input to change,
  // quotes what the user wrote and says what fits.
  test.each<[string, RawInputs, InputName, string, string]>([
    [
      'arch-tags with two platforms',
      { 'arch-tags': 'true', platforms: 'linux/amd64,linux/arm/v7' },
      'platforms',
      'linux/amd64,linux/arm/v7',
      'exactly one platform with arch-tags: true'
    ],
    [
      'arch-tags with the default platforms (two)',
      { 'arch-tags': 'true' },
      'platforms',
      'linux/amd64,linux/arm/v7',
      'exactly one platform with arch-tags: true'
    ],
    [
      'merge and arch-tags together',
      { merge: 'true', 'arch-tags': 'true', platforms: 'linux/amd64' },
      'merge',
      'true',
      'merge: true without arch-tags: true'
    ],
    [
      'merge and arch-tags together, as written (True)',
      { merge: 'True', 'arch-tags': 'true', platforms: 'linux/amd64' },
      'merge',
      'True',
      'merge: true without arch-tags: true'
    ],
    [
      'merge of two platforms with a format without {arch}',
      { merge: 'true', platforms: 'linux/amd64,linux/arm/v7', 'arch-tag-format': 'rpi-{tag}' },
      'arch-tag-format',
      'rpi-{tag}',
      'a format with "{arch}" when several platforms are merged'
    ]
  ])('%s: the message names the input to change', (_name, raw, input, quoted, accepted) => {
    const run = (): unknown => parse(raw)
    expect(run).toThrow(InputError)
    expect(run).toThrow(`Input "${input}": ${JSON.stringify(quoted)} is not valid; expected `)
    expect(run).toThrow(accepted)
  })

  test('every input has bad values in the tables', () => {
    const covered = new Set<string>([...BAD.map(([n]) => n), 'extra-index-url', 'tags'])
    expect([...covered].sort()).toEqual([...INPUT_NAMES].sort())
  })
})

describe('validate: the helpers behind the new inputs', () => {
  test.each<[string, readonly string[], boolean]>([
    ['host', ['default', 'host', 'none'], true],
    ['none', ['default', 'host', 'none'], true],
    ['HOST', ['default', 'host', 'none'], false],
    ['', ['default', 'host', 'none'], false],
    ['a', [], false]
  ])('oneOf %j of %j → %s', (value, allowed, ok) => {
    if (ok) expect(oneOf('x', value, allowed)).toBe(value)
    else expect(() => oneOf('x', value, allowed)).toThrow(`Input "x": ${JSON.stringify(value)}`)
  })

  test('oneOf lists what is accepted', () => {
    expect(() => oneOf('network', 'bridge', ['default', 'host', 'none'])).toThrow(
      'Input "network": "bridge" is not valid; expected "default", "host", "none".'
    )
  })

  test.each(STAGE_NAMES)('stageName accepts the stage %s', (name) => {
    expect(stageName('no-cache-filters', name, STAGE_NAMES)).toBe(name)
  })

  test.each(['', 'Base', 'parent', 'base ', 'scratch', 'wheel'])(
    'stageName refuses %j and lists the stages',
    (value) => {
      expect(() => stageName('no-cache-filters', value, STAGE_NAMES)).toThrow(
        `expected stage names of the generated Dockerfile: ${STAGE_NAMES.join(', ')}.`
      )
    }
  )

  test.each<[string, boolean]>([
    ['A=1', true],
    ['PIP_INDEX_URL=https://x/simple', true],
    ['http_proxy=http://proxy:3128', true],
    ['TARGETPLATFORMS=x', true],
    ['BUILDKIT=1', true],
    ['TARGETOS=linux', false],
    ['BUILDARCH=amd64', false],
    ['BUILDVARIANT=v8', false],
    ['SOURCE_DATE_EPOCH=1', false],
    ['BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', false]
  ])('buildArg %j → %s', (value, ok) => {
    if (ok) expect(buildArg('build-args', value)).toBe(value)
    else expect(() => buildArg('build-args', value)).toThrow(/set by BuildKit or the action\.$/)
  })
})

describe("python-version: empty by default, then the parent's, then DEFAULT_PYTHON", () => {
  test.each<[string, RawInputs, string | undefined, string]>([
    ['nothing: DEFAULT_PYTHON', {}, undefined, DEFAULT_PYTHON],
    ["a parent's recorded version", { parent: 'ghcr.io/org/svc:1.0-base' }, '3.11', '3.11'],
    [
      'python-version given wins over the parent',
      { parent: 'ghcr.io/org/svc:1.0-base', 'python-version': '3.13' },
      '3.11',
      '3.13'
    ],
    ['a blank python-version is none', { 'python-version': '  ' }, '3.10', '3.10']
  ])('%s', (_name, raw, parentPythonVersion, version) => {
    const inputs = parseInputs(reader(raw), { parentPythonVersion })
    expect(INPUT_DEFAULTS['python-version']).toBe('')
    expect([inputs.pythonVersion, inputs.builderImage, inputs.runtimeImage]).toEqual([
      version,
      `python:${version}`,
      `python:${version}-slim`
    ])
  })

  test("a parent's version that is no Python minor version names python-version", () => {
    expect(() => parseInputs(reader({}), { parentPythonVersion: '3.12.1' })).toThrow(
      /^Input "python-version": "3\.12\.1" is not valid/
    )
  })
})
