/**
 * The Python side of the build, run with the host's python3 (no Docker): system_libs.py (what a
 * compiled wheel needs, which C library an image has, which packages it has), the parts of
 * wheel_slim.py that decide the runtime packages and refuse images that do not fit, and
 * check_libs.py (what the action runs in each built image). Fakes replace the image's file
 * system (a temp root), dpkg-query, ldd and the dynamic loader. Without python3 these tests
 * fail: nothing is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeTools } from '../src/execute.js'
import { aptPackage } from '../src/validate.js'

const TOOLS = fileURLToPath(new URL('../src/tools', import.meta.url))
const PYTHON = 'python3'

let work: string
let counter = 0
/** A fresh directory under this file's temp directory. */
function fresh(name: string): string {
  const dir = join(work, `${counter++}-${name}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Writes files (path → content) under root; a content of { link } makes a symlink. */
function tree(root: string, files: Record<string, string | Buffer | { link: string }>): string {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path)
    mkdirSync(dirname(full), { recursive: true })
    if (typeof content === 'object' && 'link' in content) symlinkSync(content.link, full)
    else writeFileSync(full, content)
  }
  return root
}

/** An executable shell script (a fake dpkg-query, ldd or loader). */
function script(path: string, body: string): string {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return path
}

interface PythonRun {
  /** Every line printed before the result. */
  printed: string[]
  result: unknown
}

/**
 * Runs `code` with python3 -c, the tools directory first on sys.path, `argv` as sys.argv[1:].
 * The code sets `result`; it is printed as the last line of JSON (sets as sorted lists).
 */
function python(code: string, argv: string[] = [], env: Record<string, string> = {}): PythonRun {
  const program = [
    'import json, os, sys',
    `sys.path.insert(0, ${JSON.stringify(TOOLS)})`,
    'argv = sys.argv[1:]',
    'result = None',
    code,
    'print(json.dumps(result, default=sorted))'
  ].join('\n')
  let out: string
  try {
    out = execFileSync(PYTHON, ['-c', program, ...argv], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') {
      throw new Error(`${PYTHON} is not on PATH: the Python tests need the host's python3`, {
        cause: error
      })
    }
    throw new Error(`${PYTHON} failed: ${e.stderr ?? e.message}`, { cause: error })
  }
  const lines = out.trimEnd().split('\n')
  return { printed: lines.slice(0, -1), result: JSON.parse(lines.at(-1) ?? 'null') as unknown }
}

/** system_libs.<call> with each argument passed as a JSON string. */
function systemLibs(call: string, ...args: unknown[]): unknown {
  const params = args.map((_, i) => `json.loads(argv[${i}])`).join(', ')
  return python(
    `import system_libs\nresult = system_libs.${call}(${params})`,
    args.map((a) => JSON.stringify(a))
  ).result
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'wsa-python-'))
})

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

describe('the host python3', () => {
  test('is there, and new enough for the tools (3.8+)', () => {
    const version = execFileSync(PYTHON, ['--version'], { encoding: 'utf8' }).trim()
    const m = /^Python (\d+)\.(\d+)/.exec(version)
    expect(m).not.toBeNull()
    expect(Number(m?.[1]) * 100 + Number(m?.[2])).toBeGreaterThanOrEqual(308)
  })
})

describe('system_libs.installed_packages: the dpkg status file of an image root', () => {
  const STATUS = [
    'Package: libc6',
    'Status: install ok installed',
    'Priority: optional',
    'Version: 2.36-9+deb12u4',
    'Description: GNU C Library: Shared libraries',
    ' Contains the standard libraries used by nearly all programs.',
    ' Status: deinstall ok config-files',
    'Multi-Arch: same',
    '',
    'Package: libpq5',
    'Status: deinstall ok config-files',
    'Version: 15.5-0+deb12u1',
    'Description: PostgreSQL C client library',
    ' Status: install ok installed',
    '',
    'Package: zlib1g',
    'Status: install ok installed',
    '',
    'Status: hold ok installed',
    'Package: tzdata',
    'Version: 2024a-0+deb12u1',
    '',
    'Package: oldlib1',
    'Status: purge ok not-installed',
    '',
    'Package: halfway',
    'Status: install reinstreq half-installed',
    '',
    'Package: unpacked-only',
    'Status: install ok unpacked',
    '',
    'Package: leaving',
    'Status: deinstall ok installed',
    ''
  ].join('\n')

  test('installed (also held, or selected for removal but still there); never config-files, half-installed, unpacked', () => {
    const root = tree(fresh('dpkg'), { 'var/lib/dpkg/status': STATUS })
    expect(systemLibs('installed_packages', root)).toEqual(['leaving', 'libc6', 'tzdata', 'zlib1g'])
  })

  test('a "Status:" inside a continuation line is description text, not the status', () => {
    const root = tree(fresh('dpkg'), { 'var/lib/dpkg/status': STATUS })
    const installed = systemLibs('installed_packages', root) as string[]
    expect(installed).toContain('libc6')
    expect(installed).not.toContain('libpq5')
  })

  test('no status file (an image without dpkg): nothing installed', () => {
    expect(systemLibs('installed_packages', fresh('no-dpkg'))).toEqual([])
  })

  test('an empty status file: nothing installed', () => {
    const root = tree(fresh('dpkg'), { 'var/lib/dpkg/status': '' })
    expect(systemLibs('installed_packages', root)).toEqual([])
  })
})

const BOOKWORM = [
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
  'NAME="Debian GNU/Linux"',
  'VERSION_ID="12"',
  'VERSION="12 (bookworm)"',
  'VERSION_CODENAME=bookworm',
  'ID=debian',
  'HOME_URL="https://www.debian.org/"',
  ''
].join('\n')
const BULLSEYE = BOOKWORM.replace(/12/g, '11').replace(/bookworm/g, 'bullseye')
const ALPINE =
  'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME="Alpine Linux v3.20"\n'

describe('system_libs.os_release', () => {
  test('etc/os-release: every KEY=value line', () => {
    const root = tree(fresh('os'), { 'etc/os-release': BOOKWORM })
    const release = systemLibs('os_release', root) as Record<string, string>
    expect(release).toMatchObject({ VERSION_CODENAME: 'bookworm', ID: 'debian' })
    expect(release['PRETTY_NAME']?.replace(/"/g, '')).toBe('Debian GNU/Linux 12 (bookworm)')
    // a value may hold "=" itself
    expect(release['HOME_URL']?.replace(/"/g, '')).toBe('https://www.debian.org/')
  })

  test('usr/lib/os-release when etc has none; etc wins when both exist', () => {
    const onlyUsr = tree(fresh('os'), { 'usr/lib/os-release': BULLSEYE })
    expect(systemLibs('os_release', onlyUsr)).toMatchObject({ VERSION_CODENAME: 'bullseye' })
    const both = tree(fresh('os'), { 'usr/lib/os-release': BULLSEYE, 'etc/os-release': BOOKWORM })
    expect(systemLibs('os_release', both)).toMatchObject({ VERSION_CODENAME: 'bookworm' })
  })

  test("Debian's layout: etc/os-release a relative symlink to ../usr/lib/os-release", () => {
    const root = tree(fresh('os'), {
      'usr/lib/os-release': BOOKWORM,
      'etc/os-release': { link: '../usr/lib/os-release' }
    })
    expect(systemLibs('os_release', root)).toMatchObject({ VERSION_CODENAME: 'bookworm' })
  })

  test('no os-release: empty', () => {
    expect(systemLibs('os_release', fresh('os'))).toEqual({})
  })
})

/** A libc.so.6 as glibc ships it: binary around the version banner. */
const libc6 = (version: string): Buffer =>
  Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0xff, 0x00]),
    Buffer.from(
      `GNU C Library (Debian GLIBC ${version}-9) stable release version ${version}.\nCopyright (C) 2023 Free Software Foundation, Inc.\n`
    ),
    Buffer.from([0x00, 0x01, 0x02])
  ])

const glibcRoot = (version: string, release = BOOKWORM): string =>
  tree(fresh(`glibc-${version}`), {
    'lib/x86_64-linux-gnu/libc.so.6': libc6(version),
    'etc/os-release': release
  })
const muslRoot = (): string =>
  tree(fresh('musl'), { 'lib/ld-musl-x86_64.so.1': 'musl', 'etc/os-release': ALPINE })

describe('system_libs.libc: the C library of an image root', () => {
  test('glibc: the version from the banner of lib/<triplet>/libc.so.6', () => {
    expect(systemLibs('libc', glibcRoot('2.36'))).toEqual(['glibc', '2.36'])
  })

  test.each<[string, Record<string, string | Buffer | { link: string }>, [string, string]]>([
    ['usr/lib64 (Fedora-like)', { 'usr/lib64/libc.so.6': libc6('2.38') }, ['glibc', '2.38']],
    ['lib64', { 'lib64/libc.so.6': libc6('2.17') }, ['glibc', '2.17']],
    [
      'a relative symlink to libc-2.31.so (older Debian)',
      {
        'lib/x86_64-linux-gnu/libc-2.31.so': libc6('2.31'),
        'lib/x86_64-linux-gnu/libc.so.6': { link: 'libc-2.31.so' }
      },
      ['glibc', '2.31']
    ],
    [
      'merged /usr: lib a symlink to usr/lib',
      { 'usr/lib/aarch64-linux-gnu/libc.so.6': libc6('2.36'), lib: { link: 'usr/lib' } },
      ['glibc', '2.36']
    ],
    ['a two-digit minor version', { 'lib/libc.so.6': libc6('2.9') }, ['glibc', '2.9']],
    ['musl: lib/ld-musl-x86_64.so.1', { 'lib/ld-musl-x86_64.so.1': 'x' }, ['musl', '']],
    ['musl on arm: lib/ld-musl-armhf.so.1', { 'lib/ld-musl-armhf.so.1': 'x' }, ['musl', '']],
    ['a libc.so.6 without a banner', { 'lib/libc.so.6': 'nothing here' }, ['unknown', '']],
    // The runtime image's few files in the build (runtime-files): no C library file at all
    ['Alpine: etc/alpine-release', { 'etc/alpine-release': '3.20.3\n' }, ['musl', '']],
    [
      "Debian: dpkg's record of libc6",
      {
        'var/lib/dpkg/status':
          'Package: libc-bin\nStatus: install ok installed\nVersion: 9.9-1\n\n' +
          'Package: libc6\nStatus: install ok installed\nArchitecture: armhf\nVersion: 2.36-9+deb12u9\n'
      },
      ['glibc', '2.36']
    ],
    [
      'a libc6 with an epoch',
      {
        'var/lib/dpkg/status': 'Package: libc6\nStatus: install ok installed\nVersion: 1:2.31-13\n'
      },
      ['glibc', '2.31']
    ],
    [
      'a libc6 only half-installed counts for nothing',
      {
        'var/lib/dpkg/status':
          'Package: libc6\nStatus: deinstall ok config-files\nVersion: 2.36-9\n'
      },
      ['unknown', '']
    ],
    ['nothing at all', {}, ['unknown', '']]
  ])('%s', (_name, files, expected) => {
    expect(systemLibs('libc', tree(fresh('libc'), files))).toEqual(expected)
  })
})

describe('system_libs.compatible: whether wheels built on the builder load on the runtime', () => {
  const roots = (): Record<string, string> => ({
    'glibc 2.36': glibcRoot('2.36'),
    'glibc 2.31': glibcRoot('2.31', BULLSEYE),
    'glibc 2.38': glibcRoot('2.38'),
    'glibc 2.9': glibcRoot('2.9'),
    'glibc 2.10': glibcRoot('2.10'),
    musl: muslRoot(),
    unknown: fresh('unknown')
  })
  let r: Record<string, string>
  beforeAll(() => {
    r = roots()
  })

  test.each<[string, string, string | null]>([
    ['glibc 2.36', 'glibc 2.36', null],
    ['glibc 2.36', 'glibc 2.38', null],
    [
      'glibc 2.36',
      'glibc 2.31',
      "its glibc 2.31 is older than the builder's 2.36: the wheels would fail to load"
    ],
    // versions compare as numbers, not as strings
    [
      'glibc 2.10',
      'glibc 2.9',
      "its glibc 2.9 is older than the builder's 2.10: the wheels would fail to load"
    ],
    ['glibc 2.9', 'glibc 2.10', null],
    [
      'glibc 2.36',
      'musl',
      "its C library is musl, the builder's glibc: the wheels would install, then fail at import"
    ],
    [
      'musl',
      'glibc 2.36',
      "its C library is glibc, the builder's musl: the wheels would install, then fail at import"
    ],
    ['musl', 'musl', null],
    ['glibc 2.36', 'unknown', null],
    ['unknown', 'glibc 2.31', null]
  ])('builder %s, runtime %s → %j', (builder, runtime, expected) => {
    const code = 'import system_libs\nresult = system_libs.compatible(*map(system_libs.libc, argv))'
    expect(python(code, [r[builder] ?? '', r[runtime] ?? '']).result).toEqual(expected)
  })

  test('describe: the C library and the release, as the refusal names them', () => {
    expect(systemLibs('describe', r['glibc 2.36'])).toBe(
      'glibc 2.36 (Debian GNU/Linux 12 (bookworm))'
    )
    expect(systemLibs('describe', r['glibc 2.31'])).toBe(
      'glibc 2.31 (Debian GNU/Linux 11 (bullseye))'
    )
    expect(systemLibs('describe', r['musl'])).toBe('musl (Alpine Linux v3.20)')
    expect(systemLibs('describe', r['unknown'])).toBe('unknown (an unknown system)')
  })
})

describe('system_libs: package names', () => {
  // The runtime stage's apt-get gets only names that pass APT_NAME, "the action's own rule":
  // the same rule as the runtime-packages input, so no accepted input is refused in the build.
  const NAMES = [
    'libpq5',
    'libxml2=2.9+dfsg-1',
    'zlib1g=1:1.2.13.dfsg-1',
    'libstdc++6',
    'g++',
    'libpq5=15.5-0+deb12u1~bpo11+1',
    'ab',
    'a',
    'Libpq5',
    'lib_pq',
    '-o',
    'libpq5=$(id)',
    'x=',
    'libc6:amd64',
    'lib pq',
    'libpq5\nRUN'
  ]

  test('APT_NAME accepts exactly what the runtime-packages input accepts', () => {
    const python_ = python(
      'import system_libs\nresult = [bool(system_libs.APT_NAME.match(n)) for n in json.loads(argv[0])]',
      [JSON.stringify(NAMES)]
    ).result as boolean[]
    const accepted = (n: string): boolean => {
      try {
        aptPackage('runtime-packages', n)
        return true
      } catch {
        return false
      }
    }
    expect(Object.fromEntries(NAMES.map((n, i) => [n, python_[i]]))).toEqual(
      Object.fromEntries(NAMES.map((n) => [n, accepted(n)]))
    )
  })
})

/** Fake dpkg-query: `--search <path>` as dpkg answers it, for a few paths. */
function fakeDpkg(bin: string): void {
  script(
    join(bin, 'dpkg-query'),
    `[ "$1" = --search ] || exit 2
case "$2" in
  /usr/lib/x86_64-linux-gnu/libpq.so.5) echo "libpq5:amd64: $2" ;;
  /usr/lib/x86_64-linux-gnu/libz.so.1) echo "zlib1g:amd64: $2" ;;
  /lib/x86_64-linux-gnu/libc.so.6) echo "libc6:amd64: $2" ;;
  /usr/lib/x86_64-linux-gnu/libshared.so.1) echo "libshared1:amd64, libshared-extra: $2" ;;
  /usr/lib/x86_64-linux-gnu/libdiverted.so.1)
    echo "diversion by libother from: $2"
    echo "diversion by libother to: $2.real"
    echo "libdiverted1:amd64: $2" ;;
  *) echo "dpkg-query: no path found matching pattern $2" >&2; exit 1 ;;
esac`
  )
}

describe('system_libs.owners and needed_packages, with fake dpkg-query and ldd', () => {
  let bin: string
  let env: Record<string, string>
  beforeAll(() => {
    bin = fresh('bin')
    fakeDpkg(bin)
    // ldd as glibc prints it, for the extension, a library the wheel carries, and a pure file
    script(
      join(bin, 'ldd'),
      `case "$1" in
  *_psycopg*)
    printf '\\tlinux-vdso.so.1 (0x00007ffd)\\n'
    printf '\\tlibpq.so.5 => /usr/lib/x86_64-linux-gnu/libpq.so.5 (0x00007f01)\\n'
    printf '\\tlibbundled-1a2b.so.1 => %s/../psycopg2.libs/libbundled-1a2b.so.1 (0x00007f02)\\n' "$(dirname "$1")"
    printf '\\tlibgone.so.3 => not found\\n'
    printf '\\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f03)\\n'
    printf '\\t/lib64/ld-linux-x86-64.so.2 (0x00007f04)\\n' ;;
  *libbundled*)
    printf '\\tlibz.so.1 => /usr/lib/x86_64-linux-gnu/libz.so.1 (0x00007f05)\\n'
    printf '\\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f06)\\n' ;;
  *) echo "ldd: unexpected $1" >&2; exit 1 ;;
esac`
    )
    env = { PATH: `${bin}:${process.env['PATH'] ?? ''}` }
  })

  const owners = (path: string): unknown =>
    python('import system_libs\nresult = system_libs.owners(argv[0])', [path], env).result

  test.each<[string, string, string[]]>([
    ['one owner, arch-qualified', '/usr/lib/x86_64-linux-gnu/libpq.so.5', ['libpq5']],
    [
      'several owners, comma-separated',
      '/usr/lib/x86_64-linux-gnu/libshared.so.1',
      ['libshared1', 'libshared-extra']
    ],
    // merged /usr: the loader says /lib/..., dpkg knows /usr/lib/...
    ['merged /usr: /lib asked as /usr/lib', '/lib/x86_64-linux-gnu/libz.so.1', ['zlib1g']],
    ['merged /usr: /usr/lib asked as /lib', '/usr/lib/x86_64-linux-gnu/libc.so.6', ['libc6']],
    ['no owner', '/opt/vendor/libthing.so.2', []]
  ])('owners: %s', (_name, path, expected) => {
    expect(owners(path)).toEqual(expected)
  })

  // dpkg-query --search prints "diversion by <pkg> from: <path>" and "... to: ..." before the
  // owner when a file is diverted; the owner is on the last line.
  test('owners: a diverted library is owned by the package dpkg names last, not by "diversion by ..."', () => {
    expect(owners('/usr/lib/x86_64-linux-gnu/libdiverted.so.1')).toEqual(['libdiverted1'])
  })

  test("needed_packages: the packages owning what the wheel's extensions link to; never what the wheel carries", () => {
    const wheel = join(fresh('wheel'), 'psycopg2-2.9.9-cp312-cp312-linux_x86_64.whl')
    const result = python(
      [
        'import zipfile, system_libs',
        'with zipfile.ZipFile(argv[0], "w") as z:',
        '    z.writestr("psycopg2/_psycopg.cpython-312-x86_64-linux-gnu.so", "elf")',
        '    z.writestr("psycopg2.libs/libbundled-1a2b.so.1", "elf")',
        '    z.writestr("psycopg2/__init__.py", "")',
        '    z.writestr("psycopg2-2.9.9.dist-info/RECORD", "")',
        'result = system_libs.needed_packages(argv[0])'
      ].join('\n'),
      [wheel],
      env
    ).result
    expect(result).toEqual(['libc6', 'libpq5', 'zlib1g'])
  })

  test('needed_packages: a pure wheel needs nothing, and ldd is never asked', () => {
    const wheel = join(fresh('wheel'), 'six-1.16.0-py2.py3-none-any.whl')
    const result = python(
      [
        'import zipfile, system_libs',
        'with zipfile.ZipFile(argv[0], "w") as z:',
        '    z.writestr("six.py", "")',
        '    z.writestr("six-1.16.0.dist-info/RECORD", "")',
        'result = system_libs.needed_packages(argv[0])'
      ].join('\n'),
      [wheel],
      env
    ).result
    expect(result).toEqual([])
  })
})

/**
 * wheel_slim with its fixed paths redirected: read_json answers from `files` (path → value), OUT
 * is a temp directory, the runtime image's installed packages and apt-get are given.
 */
function wheelSlim(
  code: string,
  opts: { files?: Record<string, unknown>; installed?: string[]; aptGet?: boolean } = {}
): PythonRun & { out: string } {
  const out = fresh('out')
  const run = python(
    [
      'import wheel_slim, system_libs',
      'files = json.loads(argv[0])',
      'wheel_slim.read_json = lambda path, default=None: files.get(path, default)',
      'wheel_slim.OUT = argv[1]',
      'installed = set(json.loads(argv[2]))',
      "system_libs.installed_packages = lambda root: installed if root == '/wheel-slim/runtime-image' else set()",
      'real_exists = os.path.exists',
      "os.path.exists = lambda p: (argv[3] == 'true') if p.endswith('/usr/bin/apt-get') else real_exists(p)",
      "for d in ('set', 'new'): os.makedirs(os.path.join(argv[1], d))",
      'try:',
      ...code.split('\n').map((l) => `    ${l}`),
      'except SystemExit as e:',
      "    result = {'exit': e.code}"
    ].join('\n'),
    [
      JSON.stringify(opts.files ?? {}),
      out,
      JSON.stringify(opts.installed ?? []),
      String(opts.aptGet ?? true)
    ]
  )
  return { ...run, out }
}

describe('wheel_slim.runtime_packages: what the runtime stage installs, and why', () => {
  const PSYCOPG = 'psycopg2-2.9.9-cp312-cp312-linux_armv7l.whl'
  const LXML = 'lxml-5.2.1-cp312-cp312-linux_armv7l.whl'
  const NUMPY = 'numpy-2.0.0-cp312-cp312-linux_armv7l.whl'
  const SIX = 'six-1.16.0-py2.py3-none-any.whl'
  const COMPILED = { [PSYCOPG]: ['libpq5'], [LXML]: ['libxml2', 'libxslt1.1'], [SIX]: [] }

  const call = (cfg: object, names: string[]): string =>
    [
      `cfg = json.loads(${JSON.stringify(JSON.stringify(cfg))})`,
      `names = json.loads(${JSON.stringify(JSON.stringify(names))})`,
      "packages, why = wheel_slim.runtime_packages(cfg, 'linux/arm/v7', names)",
      "with open(os.path.join(wheel_slim.OUT, 'apt', 'packages')) as f: apt = f.read()",
      "needs = [json.load(open(os.path.join(wheel_slim.OUT, d, 'wheel-slim-needs.json'))) for d in ('set', 'new')]",
      "result = {'packages': packages, 'why': why, 'apt': apt, 'needs': needs}"
    ].join('\n')
  const cfg = (auto: boolean, runtimePackages: string[] = []): object => ({
    runtime_image: 'python:3.12-slim',
    runtime_packages: runtimePackages,
    auto_runtime_packages: auto
  })

  test("auto on: the compiled wheels' packages and the input's, minus what the image has", () => {
    const { result } = wheelSlim(call(cfg(true, ['tzdata']), [LXML, PSYCOPG, SIX]), {
      files: { '/wheel-slim/compiled/needs.json': COMPILED },
      installed: ['libc6', 'libxml2']
    })
    expect(result).toEqual({
      packages: ['libpq5', 'libxslt1.1', 'tzdata'],
      why: { libpq5: [PSYCOPG], 'libxslt1.1': [LXML], tzdata: ['runtime-packages'] },
      // one line for the runtime-base RUN to read
      apt: 'libpq5 libxslt1.1 tzdata',
      // recorded with the wheel set (for the cache) and with the new wheels (for children)
      needs: [
        {
          wheels: { [LXML]: COMPILED[LXML], [PSYCOPG]: COMPILED[PSYCOPG], [SIX]: [] },
          runtime_packages: ['tzdata']
        },
        {
          wheels: { [LXML]: COMPILED[LXML], [PSYCOPG]: COMPILED[PSYCOPG], [SIX]: [] },
          runtime_packages: ['tzdata']
        }
      ]
    })
  })

  test("auto off: only the input's packages, though what the wheels need is still recorded", () => {
    const { result } = wheelSlim(call(cfg(false, ['tzdata']), [LXML, PSYCOPG]), {
      files: { '/wheel-slim/compiled/needs.json': COMPILED }
    })
    expect(result).toMatchObject({
      packages: ['tzdata'],
      why: { tzdata: ['runtime-packages'] },
      apt: 'tzdata'
    })
    expect((result as { needs: { wheels: object }[] }).needs[0]?.wheels).toEqual({
      [LXML]: COMPILED[LXML],
      [PSYCOPG]: COMPILED[PSYCOPG]
    })
  })

  test('nothing to install: an empty list, so the runtime-base RUN is one shell test', () => {
    const { result } = wheelSlim(call(cfg(true), [SIX]), {
      files: { '/wheel-slim/compiled/needs.json': { [SIX]: [] } },
      aptGet: false
    })
    expect(result).toMatchObject({ packages: [], why: {}, apt: '' })
  })

  test("a child: the parent's runtime packages and the needs of the parent's wheels it uses", () => {
    const parent = {
      wheels: { [NUMPY]: ['libopenblas0'], [PSYCOPG]: ['libpq5'] },
      runtime_packages: ['libjpeg62-turbo', 'tzdata']
    }
    const on = wheelSlim(call(cfg(true, ['tzdata']), [NUMPY, SIX]), {
      files: { '/wheel-slim/parent/wheel-slim-needs.json': parent }
    }).result as { packages: string[]; why: Record<string, string[]>; needs: unknown[] }
    expect(on.packages).toEqual(['libjpeg62-turbo', 'libopenblas0', 'tzdata'])
    expect(on.why).toEqual({
      'libjpeg62-turbo': ["the parent's runtime-packages"],
      libopenblas0: [NUMPY],
      tzdata: ['runtime-packages', "the parent's runtime-packages"]
    })
    // the record keeps the parent's wheels too, for a grandchild
    expect(on.needs[0]).toEqual({
      wheels: { [NUMPY]: ['libopenblas0'], [PSYCOPG]: ['libpq5'] },
      runtime_packages: ['libjpeg62-turbo', 'tzdata']
    })
    const off = wheelSlim(call(cfg(false), [NUMPY, SIX]), {
      files: { '/wheel-slim/parent/wheel-slim-needs.json': parent }
    }).result
    expect(off).toMatchObject({ packages: ['libjpeg62-turbo', 'tzdata'] })
  })

  // A later run takes the compiled wheel from the wheel cache and compiles nothing: what it
  // needs comes from the record the wheel cache restored next to the wheels.
  test('wheels from the wheel cache: their needs from wheel-slim-needs-<platform>.json in the cache', () => {
    const { result } = wheelSlim(call(cfg(true), [PSYCOPG, SIX]), {
      files: {
        '/wheel-slim/cache/wheel-slim-needs-linux-arm-v7.json': {
          wheels: { [PSYCOPG]: ['libpq5'], 'old-1.0-cp312-cp312-linux_armv7l.whl': ['libold1'] },
          runtime_packages: []
        }
      }
    })
    expect(result).toMatchObject({ packages: ['libpq5'], why: { libpq5: [PSYCOPG] } })
  })

  test('a name that is no Debian package name is refused, naming where it came from', () => {
    const run = wheelSlim(call(cfg(true), [SIX]), {
      files: {
        '/wheel-slim/parent/wheel-slim-needs.json': { wheels: {}, runtime_packages: ['Bad_Name'] }
      }
    })
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed).toEqual([
      "wheel-slim: ERROR: not Debian package names, refused: Bad_Name (from the parent's runtime-packages)"
    ])
  })

  test('packages to install on an image without apt-get: refused, one line', () => {
    const run = wheelSlim(call(cfg(true, ['tzdata']), [PSYCOPG]), {
      files: { '/wheel-slim/compiled/needs.json': COMPILED },
      aptGet: false
    })
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed).toEqual([
      'wheel-slim: ERROR: runtime-image python:3.12-slim has no apt-get, so the runtime packages libpq5, tzdata cannot be installed on it.'
    ])
  })
})

describe('wheel_slim.check_images and fitting_runtime: a runtime image that does not fit is refused', () => {
  /** libc and os_release answer for "/" (the builder) and the runtime image's files (runtime-files). */
  const images = (builder: [string, string, string], runtime: [string, string, string]): string =>
    [
      'facts = {',
      `  '/': ${JSON.stringify(builder)},`,
      `  '/wheel-slim/runtime-image': ${JSON.stringify(runtime)},`,
      '}',
      'system_libs.libc = lambda root: tuple(facts[root][:2])',
      "system_libs.os_release = lambda root: {'PRETTY_NAME': '\"%s\"' % facts[root][2].split('|')[0], 'VERSION_CODENAME': facts[root][2].split('|')[1]}"
    ].join('\n')
  const BOOKWORM_GLIBC: [string, string, string] = [
    'glibc',
    '2.36',
    'Debian GNU/Linux 12 (bookworm)|bookworm'
  ]
  const BULLSEYE_GLIBC: [string, string, string] = [
    'glibc',
    '2.31',
    'Debian GNU/Linux 11 (bullseye)|bullseye'
  ]
  const ALPINE_MUSL: [string, string, string] = ['musl', '', 'Alpine Linux v3.20|']
  /** A bullseye runtime image for a bookworm builder, and its refusal. */
  const BULLSEYE_ON_BOOKWORM = {
    builder_image: 'python:3.12',
    runtime_image: 'python:3.12-slim-bullseye',
    runtime_packages: []
  }
  const OLDER_GLIBC_REFUSAL =
    "wheel-slim: ERROR: runtime-image python:3.12-slim-bullseye (glibc 2.31 (Debian GNU/Linux 11 (bullseye))) does not fit builder-image python:3.12 (glibc 2.36 (Debian GNU/Linux 12 (bookworm))): its glibc 2.31 is older than the builder's 2.36: the wheels would fail to load. Use a runtime image of the builder's release, e.g. python:3.12-slim-bookworm."

  const checkImages = (setup: string, cfg: Record<string, unknown>, aptGet = true): PythonRun =>
    wheelSlim(
      `${setup}\nwheel_slim.check_images(json.loads(${JSON.stringify(JSON.stringify(cfg))}))\nresult = 'ok'`,
      {
        aptGet
      }
    )

  test('an older glibc: one ERROR line naming both images, why, and a runtime image that fits', () => {
    const run = checkImages(images(BOOKWORM_GLIBC, BULLSEYE_GLIBC), BULLSEYE_ON_BOOKWORM)
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed).toEqual([OLDER_GLIBC_REFUSAL])
    // what execute.ts reads back from the build log: the whole message, up to the end of the line
    expect(/wheel-slim: ERROR: (.*)/.exec(run.printed.join('\n'))?.[1]).toBe(
      run.printed[0]?.slice('wheel-slim: ERROR: '.length)
    )
  })

  test('musl on a glibc builder: refused', () => {
    const run = checkImages(images(BOOKWORM_GLIBC, ALPINE_MUSL), {
      builder_image: 'python:3.12',
      runtime_image: 'python:3.12-alpine',
      runtime_packages: []
    })
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed[0]).toBe(
      "wheel-slim: ERROR: runtime-image python:3.12-alpine (musl (Alpine Linux v3.20)) does not fit builder-image python:3.12 (glibc 2.36 (Debian GNU/Linux 12 (bookworm))): its C library is musl, the builder's glibc: the wheels would install, then fail at import. Use a runtime image of the builder's release, e.g. python:3.12-slim-bookworm."
    )
  })

  test('the same release: accepted, nothing printed', () => {
    const run = checkImages(images(BOOKWORM_GLIBC, BOOKWORM_GLIBC), {
      builder_image: 'python:3.12',
      runtime_image: 'python:3.12-slim',
      runtime_packages: ['libpq5']
    })
    expect(run).toMatchObject({ printed: [], result: 'ok' })
  })

  test('runtime packages on a runtime image without apt-get: refused before anything is compiled', () => {
    const run = checkImages(
      images(BOOKWORM_GLIBC, BOOKWORM_GLIBC),
      {
        builder_image: 'python:3.12',
        runtime_image: 'gcr.io/distroless/python3',
        runtime_packages: ['libpq5', 'tzdata']
      },
      false
    )
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed).toEqual([
      'wheel-slim: ERROR: runtime-image gcr.io/distroless/python3 has no apt-get, so runtime-packages (libpq5 tzdata) cannot be installed on it.'
    ])
  })

  test("collect's check: the builder resolve described (builder_facts), not the image collect runs in", () => {
    // collect runs in the runtime image (here the "/" facts say bullseye); resolve wrote the
    // builder's facts, bookworm's glibc 2.36: the bullseye runtime image is refused.
    const run = checkImages(
      [
        images(BULLSEYE_GLIBC, BULLSEYE_GLIBC),
        "facts['/builder'] = " + JSON.stringify(BOOKWORM_GLIBC),
        "builder = wheel_slim.builder_facts('/builder')",
        'real_check = wheel_slim.check_images',
        'wheel_slim.check_images = lambda cfg: real_check(cfg, builder)'
      ].join('\n'),
      BULLSEYE_ON_BOOKWORM
    )
    expect(run.result).toEqual({ exit: 1 })
    expect(run.printed[0]).toBe(OLDER_GLIBC_REFUSAL)
  })

  test.each<[string, string, string]>([
    ['python:3.12-slim', 'bookworm', 'python:3.12-slim-bookworm'],
    ['python:3.11-alpine', 'bookworm', 'python:3.11-slim-bookworm'],
    ['python:3.12', 'bullseye', 'python:3.12-slim-bullseye'],
    [
      'registry.local:5000/python:3.11-slim@sha256:' + 'a'.repeat(64),
      'bookworm',
      'registry.local:5000/python:3.11-slim-bookworm'
    ],
    ['debian:bookworm-slim', 'bookworm', 'the slim variant of python:3.12'],
    ['python:3.12-slim', '', 'the slim variant of python:3.12']
  ])('fitting_runtime for %s on a %j builder: %s', (runtimeImage, codename, expected) => {
    const run = wheelSlim(
      `result = wheel_slim.fitting_runtime({'runtime_image': ${JSON.stringify(runtimeImage)}, 'builder_image': 'python:3.12'}, ${JSON.stringify(codename)})`
    )
    expect(run.result).toBe(expected)
  })
})

/**
 * check_libs.py as the action runs it in an image. Its functions come from the script without
 * its last line (main()). A shell script cannot stand in for the loader (with
 * LD_TRACE_LOADED_OBJECTS set, the host's loader would list /bin/sh instead of running it), so
 * the fakes replace subprocess.run: they answer for the file given last, in the loader's words.
 */
describe('wheel_slim.target_builds: what a compiling target gets pin by pin, side by side', () => {
  /** One item of pip's install report, as `pip install --dry-run --report` writes it. */
  const item = (name: string, version: string, url: string, more: object = {}): object => ({
    metadata: { name, version, requires_dist: [] },
    download_info: { url, archive_info: { hashes: {} } },
    ...more
  })
  const OWN = item('wsa-app', '1.0.0', 'file:///dist/wsa_app-1.0.0-py3-none-any.whl', {
    is_direct: true
  })
  const SDIST = item('lxml', '5.2.1', 'http://127.0.0.1/simple/lxml/lxml-5.2.1.tar.gz')
  const NATIVE = item(
    'psycopg2',
    '2.9.9',
    'file:///cache/psycopg2-2.9.9-cp312-cp312-linux_x86_64.whl'
  )
  const PURE = item('six', '1.16.0', 'http://127.0.0.1/six-1.16.0-py2.py3-none-any.whl#sha256=ab')

  const builds = (items: object[], requirements?: string): unknown => {
    const file =
      requirements === undefined ? null : tree(fresh('req'), { 'r.txt': requirements }) + '/r.txt'
    const cfg = { name: 'wsa_app', requirements: file }
    return python(
      'import wheel_slim\nresult = wheel_slim.target_builds(json.loads(argv[0]), json.loads(argv[1]))',
      [JSON.stringify(cfg), JSON.stringify(items)]
    ).result
  }

  test('the pins the build host had as sdists, and as wheels; the own package is no pin', () => {
    expect(builds([OWN, SDIST, NATIVE, PURE])).toEqual({
      sdists: ['lxml==5.2.1'],
      wheels: ['psycopg2==2.9.9', 'six==1.16.0']
    })
    expect(builds([OWN, PURE], 'six==1.16.0\n# a comment\n\n')).toEqual({
      sdists: [],
      wheels: ['six==1.16.0']
    })
  })

  test('a marker on the machine, anywhere: the target resolves for itself', () => {
    const marked = {
      ...OWN,
      metadata: {
        name: 'wsa-app',
        version: '1.0.0',
        requires_dist: ['lxml', 'six; platform_machine == "armv7l"']
      }
    }
    expect(builds([marked, SDIST])).toBeNull()
    expect(builds([OWN, SDIST], 'lxml==5.2.1; platform_machine != "x86_64"\n')).toBeNull()
    expect(builds([OWN, SDIST], "lxml==5.2.1; 'arm' in platform_platform\n")).toBeNull()
  })

  test('a pin that may not name the resolved file: a direct URL, a directory, a requirements file with options', () => {
    const direct = item('lxml', '5.2.1', 'https://example.org/lxml-5.2.1.tar.gz', {
      is_direct: true
    })
    const directory = {
      metadata: { name: 'lxml', version: '5.2.1' },
      download_info: { url: 'file:///src/lxml', dir_info: {} }
    }
    expect(builds([OWN, direct])).toBeNull()
    expect(builds([OWN, directory])).toBeNull()
    expect(
      builds([OWN, SDIST], '--index-url https://pypi.example.org/simple\nlxml==5.2.1\n')
    ).toBeNull()
    expect(builds([OWN, SDIST], '  -r other.txt\n')).toBeNull()
  })
})

describe('wheel_slim.build_side_by_side: a pip per sdist pin, local wheels copied, the rest in one pip', () => {
  const ARM = 'cp311-cp311-linux_armv7l'
  const wheel = (name: string, version = '1.0'): string => `${name}-${version}-${ARM}.whl`
  /**
   * Runs it for arm/v7 with a fake pip: each run writes a wheel per requirement and prints pip's
   * "Created wheel" line, or fails when `fail` names it. `cache` holds wheel files to find locally.
   */
  const run = (
    jobs: object,
    own: string,
    opts: { fail?: string; cache?: string[] } = {}
  ): PythonRun => {
    const cache = tree(fresh('cache'), Object.fromEntries((opts.cache ?? []).map((f) => [f, ''])))
    return wheelSlim(
      [
        `wheel_slim.PREBUILT = ${JSON.stringify(fresh('prebuilt') + '/p')}`,
        "os.makedirs(wheel_slim.OUT + '/wheels')",
        `cfg = {'find_links': [${JSON.stringify(cache)}, '/nonexistent'], 'requirements': None, 'pip_args': ['--no-index']}`,
        'calls = []',
        'def fake_pip(args, capture=False):',
        "    reqs = args[args.index('--wheel-dir') + 2 + len(wheel_slim.sources(cfg, False)):]",
        '    calls.append(reqs)',
        "    names = [r.split('==')[0].split('/')[-1].split('-')[0] for r in reqs]",
        '    for n in names:',
        `        open(os.path.join(wheel_slim.PREBUILT, n + '-1.0-${ARM}.whl'), 'w').close()`,
        `    code = 1 if ${JSON.stringify(opts.fail ?? '')} in names else 0`,
        `    return code, ''.join('Created wheel for %s: filename=%s-1.0-${ARM}.whl size=1\\n' % (n, n) for n in names)`,
        'wheel_slim.pips_at_once = lambda arg_lists, width: [fake_pip(a) for a in arg_lists]',
        `own = ${JSON.stringify(own)}`,
        "os.makedirs(os.path.dirname(own), exist_ok=True); open(own, 'w').close()",
        'from pip._vendor.packaging import tags',
        `accepted = set(tags.cpython_tags((3, 11), ['cp311'], ['linux_armv7l'])) | set(tags.compatible_tags((3, 11), 'cp311', ['linux_armv7l']))`,
        `done, built = wheel_slim.build_side_by_side(cfg, own, json.loads(${JSON.stringify(JSON.stringify(jobs))}), accepted)`,
        "result = {'done': done, 'built': built, 'calls': sorted(calls), 'wheels': sorted(os.listdir(wheel_slim.OUT + '/wheels'))}"
      ].join('\n')
    )
  }

  test('each sdist pin on its own, the other wheels together, an own sdist too; the wheels moved in', () => {
    const own = `${work}/dist-a/app-1.0.tar.gz`
    const { result } = run(
      { sdists: ['lxml==5.2.1', 'psycopg2==2.9.9'], wheels: ['six==1.16.0', 'idna==3.7'] },
      own
    )
    const all = ['app', 'idna', 'lxml', 'psycopg2', 'six'].map((n) => wheel(n))
    expect(result).toEqual({
      done: true,
      built: all,
      calls: [[own], ['lxml==5.2.1'], ['psycopg2==2.9.9'], ['six==1.16.0', 'idna==3.7']],
      wheels: all
    })
  })

  test("a pin's wheel for the target in a local directory is copied: no pip, whatever the build host had", () => {
    const own = `${work}/dist-b/app-1.0-py3-none-any.whl`
    const { result } = run(
      { sdists: ['lxml==5.2.1', 'ujson==5.10.0'], wheels: ['psycopg2==2.9.9', 'six==1.16.0'] },
      own,
      {
        cache: [
          'lxml-5.2.1-cp311-cp311-linux_x86_64.whl', // the build host's, not the target's
          'lxml-5.2.0-cp311-cp311-linux_armv7l.whl', // another version
          wheel('psycopg2', '2.9.9'),
          wheel('UJSON', '5.10'), // names and versions compare as pip does
          'six-1.16.0-py2.py3-none-any.whl'
        ]
      }
    )
    expect(result).toEqual({
      done: true,
      built: [wheel('lxml')],
      calls: [['lxml==5.2.1']],
      wheels: [
        'app-1.0-py3-none-any.whl',
        wheel('UJSON', '5.10'),
        wheel('lxml'),
        wheel('psycopg2', '2.9.9'),
        'six-1.16.0-py2.py3-none-any.whl'
      ].sort()
    })
  })

  test("a failed pip leaves the wheel directory empty, for pip's own resolution on the target", () => {
    const own = `${work}/dist-c/app-1.0-py3-none-any.whl`
    const failed = run({ sdists: ['lxml==5.2.1', 'psycopg2==2.9.9'], wheels: [] }, own, {
      fail: 'lxml'
    })
    expect(failed.result).toEqual({
      done: false,
      built: [wheel('lxml'), wheel('psycopg2')],
      calls: [['lxml==5.2.1'], ['psycopg2==2.9.9']],
      wheels: []
    })
    expect(failed.printed).toContain(
      'wheel-slim: compile: a build side by side failed; pip resolves on the target'
    )
  })
})

describe('wheel_slim.pips_at_once: the real pip, imported once, in forked children', () => {
  test('each runs its own arguments and returns its exit code and output; with more runs than the width, each gets its turn', () => {
    const { result, printed } = python(
      [
        'import wheel_slim',
        "runs = [['--version'], ['no-such-command'], ['download', '--no-index', '--dest', argv[0], 'nothing-here==1.0'], ['--version']]",
        'result = wheel_slim.pips_at_once(runs, 2)'
      ].join('\n'),
      [fresh('dest')]
    ) as { result: [number, string][]; printed: string[] }
    expect(result.map(([code]) => code)).toEqual([0, 1, 1, 0])
    const [version, unknown, missing, again] = result.map(([, output]) => output)
    expect(version).toMatch(/^pip \d+\.\d+/)
    expect(again).toBe(version)
    expect(unknown).toMatch(/unknown command "no-such-command"/)
    expect(missing).toMatch(/No matching distribution found for nothing-here==1\.0/)
    // Echoed as each ends, nothing printed twice.
    for (const output of [unknown, missing]) {
      expect(printed.join('\n').split((output ?? '').trim()).length).toBe(2)
    }
  })

  test('a pip without the in-process entry point: None, so compile falls back to one pip', () => {
    const code =
      "sys.modules['pip._internal.cli.main'] = None\nimport wheel_slim\nresult = wheel_slim.pips_at_once([['--version']], 2)"
    expect(python(code).result).toBeNull()
  })

  test('no runs: nothing forked, no pip imported', () => {
    expect(python('import wheel_slim\nresult = wheel_slim.pips_at_once([], 2)').result).toEqual([])
  })

  test("pip: one run the same way (a stage's second pip skips the start-up), else a pip process", () => {
    const run = (prelude: string): [number, string] =>
      python(`${prelude}import wheel_slim\nresult = wheel_slim.pip(['--version'])`).result as [
        number,
        string
      ]
    const [code, output] = run('')
    expect(code).toBe(0)
    expect(output).toMatch(/^pip \d+\.\d+/)
    expect(run("sys.modules['pip._internal.cli.main'] = None\n")).toEqual([0, output])
  })
})

describe('wheel_slim.install_wheel: what pip install --target makes of a wheel, without pip', () => {
  /** A wheel with a package, an executable file, every .data/ kind and three entry points. */
  const WHEEL = [
    'import base64, hashlib, zipfile',
    'files = {',
    '    "demo/__init__.py": "VERSION = 1\\n",',
    '    "demo/cli.py": "def main():\\n    return 0\\n",',
    '    "demo/run.sh": "#!/bin/sh\\necho hi\\n",',
    '    "demo_pkg-1.0.data/scripts/demo-tool": "#!python\\nprint(1)\\n",',
    '    "demo_pkg-1.0.data/purelib/demo_extra.py": "X = 1\\n",',
    '    "demo_pkg-1.0.data/platlib/demo_native.py": "Y = 2\\n",',
    '    "demo_pkg-1.0.data/data/share/demo/notes.txt": "notes\\n",',
    '    "demo_pkg-1.0.data/headers/demo.h": "int demo;\\n",',
    '    "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n",',
    '    "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",',
    '    "demo_pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\\ndemo = demo.cli:main\\nDemo-Extra = demo.cli:main [extra]\\n\\n[gui_scripts]\\ndemo-gui = demo.cli:App.run\\n",',
    '}',
    'def row(n, d):',
    '    h = base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b"=").decode()',
    '    return "%s,sha256=%s,%d\\n" % (n, h, len(d.encode()))',
    'record = "".join(row(n, d) for n, d in files.items()) + "demo_pkg-1.0.dist-info/RECORD,,\\n"',
    'with zipfile.ZipFile(argv[0], "w") as z:',
    '    for n, d in files.items():',
    '        i = zipfile.ZipInfo(n)',
    '        i.external_attr = (0o100755 if n.endswith(".sh") else 0o100644) << 16',
    '        z.writestr(i, d)',
    '    z.writestr("demo_pkg-1.0.dist-info/RECORD", record)'
  ].join('\n')

  /** Every file under root: its path, mode and content. */
  const LIST = [
    'def listing(root):',
    '    out = {}',
    '    for d, _, fs in os.walk(root):',
    '        for f in fs:',
    '            p = os.path.join(d, f)',
    '            out[os.path.relpath(p, root)] = [oct(os.stat(p).st_mode & 0o777), open(p, "rb").read().decode()]',
    '    return out'
  ].join('\n')

  test("the same files, modes and scripts as the host's pip; RECORD names each file where it is", () => {
    const dir = fresh('install')
    const wheel = join(dir, 'demo_pkg-1.0-py3-none-any.whl')
    const { result } = python(
      [
        'import subprocess, wheel_slim, csv, base64, hashlib',
        WHEEL,
        LIST,
        "subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', '--no-index', '--no-compile', '--target', argv[1] + '/pip', argv[0]], check=True)",
        "wheel_slim.install_wheel(argv[0], argv[1] + '/ours')",
        "pip_files, ours = listing(argv[1] + '/pip'), listing(argv[1] + '/ours')",
        "info = 'demo_pkg-1.0.dist-info/'",
        "for n in ('RECORD', 'INSTALLER', 'REQUESTED', 'direct_url.json'):",
        '    pip_files.pop(info + n, None)',
        "record = list(csv.reader(open(argv[1] + '/ours/' + info + 'RECORD')))",
        "installer = ours.pop(info + 'INSTALLER')",
        "ours.pop(info + 'RECORD')",
        'def intact(path, digest, size):',
        "    data = open(os.path.join(argv[1], 'ours', path), 'rb').read()",
        "    return digest == 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode() and size == str(len(data))",
        "result = {'same': ours == pip_files, 'only_pip': sorted(set(pip_files) - set(ours)), 'only_ours': sorted(set(ours) - set(pip_files)),",
        "    'differ': sorted(k for k in ours if k in pip_files and ours[k] != pip_files[k]), 'installer': installer,",
        "    'recorded': sorted(r[0] for r in record), 'intact': [r[0] for r in record if r[1] and not intact(*r)]}"
      ].join('\n'),
      [wheel, dir]
    )
    expect(result).toEqual({
      same: true,
      only_pip: [],
      only_ours: [],
      differ: [],
      installer: ['0o644', 'wheel-slim-action\n'],
      recorded: [
        'bin/Demo-Extra',
        'bin/demo',
        'bin/demo-gui',
        'bin/demo-tool',
        'demo/__init__.py',
        'demo/cli.py',
        'demo/run.sh',
        'demo_extra.py',
        'demo_native.py',
        'demo_pkg-1.0.dist-info/INSTALLER',
        'demo_pkg-1.0.dist-info/METADATA',
        'demo_pkg-1.0.dist-info/RECORD',
        'demo_pkg-1.0.dist-info/WHEEL',
        'demo_pkg-1.0.dist-info/entry_points.txt',
        'include/python/demo-pkg/demo.h',
        'share/demo/notes.txt'
      ],
      intact: []
    })
  })

  test.each([
    ['a file', 'demo/../../escape.py'],
    ['a script', 'demo_pkg-1.0.data/scripts/../../../escape'],
    ['an absolute path', '/tmp/escape.py']
  ])('%s outside the install directory (%s) is refused, nothing written', (_, name) => {
    const dir = fresh('slip')
    const { result, printed } = wheelSlim(
      [
        'import zipfile',
        `w = ${JSON.stringify(dir)} + '/demo_pkg-1.0-py3-none-any.whl'`,
        "with zipfile.ZipFile(w, 'w') as z:",
        "    z.writestr('demo/__init__.py', '')",
        `    z.writestr(${JSON.stringify(name)}, 'x = 1')`,
        "    z.writestr('demo_pkg-1.0.dist-info/METADATA', 'Name: demo-pkg\\nVersion: 1.0\\n')",
        "    z.writestr('demo_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\n')",
        "    z.writestr('demo_pkg-1.0.dist-info/RECORD', '')",
        `wheel_slim.install_wheel(w, ${JSON.stringify(dir)} + '/tree/site')`
      ].join('\n')
    )
    expect(result).toEqual({ exit: 1 })
    expect(printed).toEqual([
      `wheel-slim: ERROR: demo_pkg-1.0-py3-none-any.whl has a file outside its install directory: ${name.replace('demo_pkg-1.0.data/scripts/', 'bin/')}`
    ])
    expect(readdirSync(dir)).toEqual(['demo_pkg-1.0-py3-none-any.whl'])
  })
})

describe('check_libs.py: every compiled module in site-packages must find its libraries', () => {
  const SOURCE = readFileSync(join(TOOLS, 'check_libs.py'), 'utf8')

  const loadCheckLibs = [
    `src = open(${JSON.stringify(join(TOOLS, 'check_libs.py'))}).read()`,
    "assert src.endswith('\\nmain()\\n')",
    'ns = {}',
    "exec(compile(src[: -len('main()\\n')], 'check_libs.py', 'exec'), ns)",
    'import types, io, contextlib, subprocess as real_subprocess'
  ].join('\n')

  /**
   * Replaces the script's subprocess with a fake loader of `kind` ('glibc' or 'musl'); `libs`
   * maps a part of a file name to its [found, missing] libraries. glibc lists a missing library
   * as "<name> => not found" when asked as ldd asks (--list, or LD_TRACE_LOADED_OBJECTS);
   * musl's loader (ldso/dynlink.c) writes "Error loading shared library <name>: <error> (needed
   * by <file>)" to stderr and exits 127, listing (--list) or not; it has no
   * LD_TRACE_LOADED_OBJECTS. Asked to run a library as a program, either crashes.
   */
  const fakeLoader = [
    'kind, libs = argv[-2], json.loads(argv[-1])',
    'def fake_run(cmd, stdout=None, stderr=None, text=False, env=None, **kw):',
    '    env = env or {}',
    '    listing = "--list" in cmd or (kind == "glibc" and env.get("LD_TRACE_LOADED_OBJECTS"))',
    '    file = cmd[-1]',
    '    found, missing = next((v for k, v in libs.items() if k in file), ([], []))',
    '    out, err, code = "", "", 0',
    '    if kind == "glibc":',
    '        if not listing: return types.SimpleNamespace(args=cmd, stdout="", stderr="Segmentation fault\\n", returncode=139)',
    '        out = "\\tlinux-vdso.so.1 (0x00007ffd)\\n"',
    '        out += "".join("\\t%s => /usr/lib/x86_64-linux-gnu/%s (0x00007f00)\\n" % (f, f) for f in found)',
    '        out += "".join("\\t%s => not found\\n" % m for m in missing)',
    '    else:',
    '        if listing: out = "\\t/lib/ld-musl-x86_64.so.1 (0x7f00)\\n" + "".join("\\t%s => /usr/lib/%s (0x7f00)\\n" % (f, f) for f in found)',
    '        err = "".join("Error loading shared library %s: No such file or directory (needed by %s)\\n" % (m, file) for m in missing)',
    '        code = 127 if missing else 0',
    '        if not listing and not missing: code = 139',
    '    if stderr == real_subprocess.STDOUT: out, err = out + err, None',
    '    return types.SimpleNamespace(args=cmd, stdout=out if stdout else None, stderr=err, returncode=code)',
    'ns["subprocess"] = types.SimpleNamespace(run=fake_run, PIPE=real_subprocess.PIPE, STDOUT=real_subprocess.STDOUT, DEVNULL=real_subprocess.DEVNULL)'
  ].join('\n')

  /** main() over `site` (as purelib and platlib) with a loader found at `loader`: its JSON. */
  const mainOver = (site: string, setup: string, extra: string[] = []): unknown =>
    python(
      [
        loadCheckLibs,
        setup,
        'ns["sysconfig"] = types.SimpleNamespace(get_path=lambda name: argv[0])',
        'buf = io.StringIO()',
        'with contextlib.redirect_stdout(buf): ns["main"]()',
        'result = json.loads(buf.getvalue())'
      ].join('\n'),
      [site, ...extra]
    ).result

  const byModule = (found: unknown): unknown =>
    (found as { module: string }[]).sort((a, b) => a.module.localeCompare(b.module))

  test('the action runs it whole: it ends by calling main()', () => {
    expect(SOURCE.endsWith('\nmain()\n')).toBe(true)
  })

  test('main: the modules whose libraries are missing, by module and file; nothing else', () => {
    const site = tree(fresh('site'), {
      'psycopg2/_psycopg.cpython-312-x86_64-linux-gnu.so': 'elf',
      'psycopg2/__init__.py': '',
      'lxml/etree.cpython-312-x86_64-linux-gnu.so': 'elf',
      'numpy/core/_multiarray_umath.abi3.so': 'elf',
      'numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so': 'elf',
      'pkg/plain.so.1.2': 'elf',
      'pkg/notes.so.txt': 'not a library',
      'README.txt': ''
    })
    const loader = join(fresh('loader'), 'ld-linux-x86-64.so.2')
    writeFileSync(loader, '')
    const libs = {
      _psycopg: [['libc.so.6'], ['libpq.so.5']],
      etree: [
        ['libxml2.so.2', 'libc.so.6'],
        ['libxslt.so.1', 'libexslt.so.0']
      ],
      plain: [[], ['libgone.so.7']],
      '.so': [['libc.so.6'], []]
    }
    const found = mainOver(site, `${fakeLoader}\nns["LOADERS"] = [argv[1]]`, [
      loader,
      'glibc',
      JSON.stringify(libs)
    ])
    expect(byModule(found)).toEqual([
      {
        module: 'lxml.etree',
        file: 'lxml/etree.cpython-312-x86_64-linux-gnu.so',
        missing: ['libexslt.so.0', 'libxslt.so.1']
      },
      { module: 'pkg.plain', file: 'pkg/plain.so.1.2', missing: ['libgone.so.7'] },
      {
        module: 'psycopg2._psycopg',
        file: 'psycopg2/_psycopg.cpython-312-x86_64-linux-gnu.so',
        missing: ['libpq.so.5']
      }
    ])
  })

  test('main: nothing missing prints an empty list', () => {
    const site = tree(fresh('site'), { 'ok/_ext.cpython-312-x86_64-linux-gnu.so': 'elf' })
    const loader = join(fresh('loader'), 'ld.so')
    writeFileSync(loader, '')
    const run = python(
      [
        loadCheckLibs,
        fakeLoader,
        'ns["LOADERS"] = [argv[1]]',
        'ns["sysconfig"] = types.SimpleNamespace(get_path=lambda name: argv[0])',
        'buf = io.StringIO()',
        'with contextlib.redirect_stdout(buf): ns["main"]()',
        'result = buf.getvalue()'
      ].join('\n'),
      [site, loader, 'glibc', JSON.stringify({ _ext: [['libc.so.6'], []] })]
    )
    expect(run.result).toBe('[]\n')
  })

  const missing = (kind: 'glibc' | 'musl', found: string[], notFound: string[]): unknown =>
    python(
      `${loadCheckLibs}\n${fakeLoader}\nresult = ns['missing_libraries']('/site/pkg/_ext.so', '/lib/ld')`,
      [kind, JSON.stringify({ _ext: [found, notFound] })]
    ).result

  test("missing_libraries with glibc's loader: each library it cannot find", () => {
    expect(missing('glibc', ['libc.so.6'], ['libssl.so.3', 'libpq.so.5'])).toEqual([
      'libpq.so.5',
      'libssl.so.3'
    ])
    expect(missing('glibc', ['libc.so.6'], [])).toEqual([])
  })

  // musl's loader is in LOADERS (/lib/ld-musl-*.so.1), and a musl builder with a musl runtime
  // is accepted (compatible()): its way of saying a library is missing must be read too.
  test("missing_libraries with musl's loader: each library it cannot find", () => {
    expect(missing('musl', ['libc.musl-x86_64.so.1'], ['libpq.so.5'])).toEqual(['libpq.so.5'])
  })

  test("missing_libraries with musl's loader: nothing missing, nothing reported", () => {
    expect(missing('musl', ['libc.musl-x86_64.so.1'], [])).toEqual([])
  })

  test('missing_libraries without a loader: ctypes loads it (a library that is there: nothing missing)', () => {
    const result = python(
      `${loadCheckLibs}\nimport ctypes.util\nresult = ns['missing_libraries'](ctypes.util.find_library('c'), None)`
    ).result
    expect(result).toEqual([])
  })

  // The real thing on this (glibc) host: the loader check_libs finds itself, and a copy of
  // /bin/true whose DT_NEEDED libc.so.6 is renamed libq.so.6 (same length) in the string table.
  test("main on the host's own loader: a library that is not there is found missing", () => {
    const elf = readFileSync('/bin/true')
    const needed = Buffer.from('libc.so.6\0')
    expect(elf.indexOf(needed)).toBeGreaterThan(0)
    const broken = Buffer.from(elf)
    for (let at = broken.indexOf(needed); at >= 0; at = broken.indexOf(needed, at + 1)) {
      broken.write('libq.so.6', at)
    }
    const site = tree(fresh('site'), {
      'broken/_ext.cpython-311-x86_64-linux-gnu.so': broken,
      'fine/_ok.abi3.so': elf,
      'fine/__init__.py': ''
    })
    expect(mainOver(site, '')).toEqual([
      {
        module: 'broken._ext',
        file: 'broken/_ext.cpython-311-x86_64-linux-gnu.so',
        missing: ['libq.so.6']
      }
    ])
  })
})

describe('the tools as the action ships them', () => {
  test('wheel_slim.py imports system_libs from the directory writeTools fills', () => {
    const dir = fresh('tools')
    writeTools(dir)
    const run = python(
      [
        'sys.path.remove(sys.path[0])',
        'sys.path.insert(0, argv[0])',
        'import wheel_slim',
        'result = [os.path.dirname(wheel_slim.__file__), os.path.dirname(wheel_slim.system_libs.__file__)]'
      ].join('\n'),
      [dir]
    )
    expect(run.result).toEqual([dir, dir])
  })

  test.each<[string, string[]]>([
    ['wheel_slim.py', ['system_libs']],
    ['system_libs.py', []],
    // sent to the image with python3 -c: the standard library only
    ['check_libs.py', []]
  ])('%s imports only the standard library and %j', (file, shipped) => {
    const run = python(
      [
        'import ast',
        'tree = ast.parse(open(argv[0]).read())',
        'names = set()',
        'for node in ast.walk(tree):',
        '    if isinstance(node, ast.Import): names |= {a.name.split(".")[0] for a in node.names}',
        '    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0: names.add(node.module.split(".")[0])',
        // pip is the image's own (wheel_slim uses pip._vendor where pip runs)
        "result = sorted(n for n in names if n not in sys.stdlib_module_names and n != 'pip')"
      ].join('\n'),
      [join(TOOLS, file)]
    )
    expect(run.result).toEqual(shipped)
  })
})

describe('wheel_slim.resolve: one step for every target the Dockerfile lists', () => {
  /** A pure wheel named `name` 1.0, requiring `requires`, written into each directory given. */
  const WHEELS = [
    'import zipfile',
    'def wheel(d, name, requires=()):',
    '    info = "%s-1.0.dist-info/" % name',
    '    meta = "Metadata-Version: 2.1\\nName: %s\\nVersion: 1.0\\n" % name + "".join("Requires-Dist: %s\\n" % r for r in requires)',
    '    with zipfile.ZipFile(os.path.join(d, "%s-1.0-py3-none-any.whl" % name), "w") as z:',
    '        z.writestr(name + "/__init__.py", "")',
    '        z.writestr(info + "METADATA", meta)',
    '        z.writestr(info + "WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
    '        z.writestr(info + "RECORD", "")'
  ].join('\n')

  /** resolve with OUT in a temp directory; each pips_at_once call's pip commands are recorded. */
  function resolve(platforms: string[] | undefined, env: Record<string, string> = {}) {
    const dir = fresh('resolve')
    const out = join(dir, 'out')
    const { result } = python(
      [
        'import shutil, wheel_slim',
        WHEELS,
        'dist, cache, out = argv[0] + "/dist", argv[0] + "/cache", argv[1]',
        'os.makedirs(dist); os.makedirs(cache)',
        'wheel(dist, "my_app", ["wsa_test_dep"]); wheel(cache, "wsa_test_dep")',
        'shutil.rmtree("/tmp/wheel-slim-own", ignore_errors=True)',
        'wheel_slim.OUT = out',
        'calls, real = [], wheel_slim.pips_at_once',
        'wheel_slim.pips_at_once = lambda lists, width: calls.append([a[0] for a in lists]) or real(lists, width)',
        'cfg = {"dist": dist, "name": "my-app", "own": ["my_app-1.0-py3-none-any.whl"], "find_links": [dist, cache],',
        '       "requirements": None, "hashes": False, "pip_args": ["--no-index"]}',
        'if argv[2] != "null": cfg["platforms"] = json.loads(argv[2])',
        'wheel_slim.resolve(cfg)',
        'shutil.rmtree("/tmp/wheel-slim-own", ignore_errors=True)',
        'targets = sorted(os.path.relpath(d, out) for d, _, fs in os.walk(out) if "result.json" in fs)',
        'result = {"calls": calls, "targets": {t: {"result": json.load(open(os.path.join(out, t, "result.json"))),',
        '    "wheels": sorted(os.listdir(os.path.join(out, t, "wheels"))),',
        '    "complete": os.path.exists(os.path.join(out, t, "complete")),',
        '    "builder": sorted(json.load(open(os.path.join(out, t, "builder.json"))))} for t in targets}}'
      ].join('\n'),
      [dir, out, JSON.stringify(platforms ?? null)],
      // no pip configuration of this machine (its find-links) joins the test's own
      { PIP_CONFIG_FILE: '/dev/null', ...env }
    )
    return result as { calls: string[][]; targets: Record<string, unknown> }
  }

  const found = (platform: string): unknown => ({
    result: { platform, complete: true, built: [] },
    wheels: ['my_app-1.0-py3-none-any.whl', 'wsa_test_dep-1.0-py3-none-any.whl'],
    complete: true,
    builder: ['codename', 'describe', 'libc']
  })

  test('the versions pinned once for both; each target its wheels, result and builder facts under its platform', () => {
    const { calls, targets } = resolve(['linux/amd64', 'linux/arm/v7'])
    // one pip (the pin); every pin's wheel at hand for both targets, so no download
    expect(calls).toEqual([['install'], []])
    expect(targets).toEqual({
      'linux/amd64': found('linux/amd64'),
      'linux/arm/v7': found('linux/arm/v7')
    })
  })

  test('no platforms listed: the one target of the step, from TARGETPLATFORM', () => {
    const { calls, targets } = resolve(undefined, { TARGETPLATFORM: 'linux/arm/v7' })
    expect(calls).toEqual([['install'], []])
    expect(targets).toEqual({ 'linux/arm/v7': found('linux/arm/v7') })
  })
})
