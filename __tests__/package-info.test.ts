/**
 * The package's description and license for the OCI labels: parseMetadata on core metadata
 * text, readPackageInfo on real wheels and sdists made here with the host's python3 (zipfile)
 * and tar. No network.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PackageInfo, parseMetadata, readPackageInfo } from '../src/package-info.js'

/** A METADATA / PKG-INFO as build backends write it: headers, a blank line, the README. */
const metadata = (headers: string[], body = '# my-app\n\nA README.\n'): string =>
  `${headers.join('\n')}\n\n${body}`

const HEAD = ['Metadata-Version: 2.4', 'Name: my-app', 'Version: 1.0.0']

describe('parseMetadata', () => {
  test.each<[string, string, PackageInfo]>([
    [
      'Summary and License',
      metadata([...HEAD, 'Summary: A small web service', 'License: MIT']),
      { summary: 'A small web service', license: 'MIT' }
    ],
    [
      'License-Expression is preferred to License',
      metadata([...HEAD, 'Summary: S', 'License: MIT License', 'License-Expression: MIT']),
      { summary: 'S', license: 'MIT' }
    ],
    [
      'License-Expression is preferred wherever it stands',
      metadata([...HEAD, 'License-Expression: Apache-2.0 OR MIT', 'License: Apache', 'Summary: S']),
      { summary: 'S', license: 'Apache-2.0 OR MIT' }
    ],
    [
      'License-Expression alone (metadata 2.4, with License-File)',
      metadata([...HEAD, 'License-Expression: BSD-3-Clause', 'License-File: LICENSE']),
      { license: 'BSD-3-Clause' }
    ],
    [
      'UNKNOWN (what old setuptools writes for a missing field) is no value',
      metadata(['Metadata-Version: 2.1', 'Name: my-app', 'Summary: UNKNOWN', 'License: UNKNOWN']),
      {}
    ],
    [
      'an UNKNOWN License-Expression falls back to License',
      metadata([...HEAD, 'License-Expression: UNKNOWN', 'License: MIT']),
      { license: 'MIT' }
    ],
    [
      'the body is not read: fields that look like headers in the README count for nothing',
      metadata(HEAD, 'Summary: not a header\nLicense: GPL-3.0-only\nLicense-Expression: GPL\n'),
      {}
    ],
    [
      'classifiers and License-File are not the license',
      metadata([
        ...HEAD,
        'Classifier: License :: OSI Approved :: MIT License',
        'License-File: LICENSE.txt'
      ]),
      {}
    ],
    [
      'CRLF line endings',
      metadata([...HEAD, 'Summary: S', 'License: MIT']).replace(/\n/g, '\r\n'),
      { summary: 'S', license: 'MIT' }
    ],
    [
      'an empty value is no value; spaces around a value are trimmed',
      metadata([...HEAD, 'Summary:', 'License:   MIT  ']),
      { license: 'MIT' }
    ],
    ['no header at all', '', {}]
  ])('%s', (_name, text, expected) => {
    const info = parseMetadata(text)
    expect(info).toEqual(expected)
    expect(info.summary).toBe(expected.summary)
    expect(info.license).toBe(expected.license)
  })
})

describe('readPackageInfo: wheels and sdists made with python3 -m zipfile and tar', () => {
  let root: string
  const WHEEL_META = metadata([
    ...HEAD,
    'Summary: From the wheel',
    'License-Expression: MIT',
    'Requires-Python: >=3.9',
    'Description-Content-Type: text/markdown'
  ])
  const SDIST_META = metadata([
    'Metadata-Version: 2.1',
    'Name: my-app',
    'Version: 1.0.0',
    'Summary: From the sdist',
    'License: Apache-2.0'
  ])

  function write(path: string, text: string): void {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
  }

  /** A wheel's tree: the package and its .dist-info. */
  function wheelTree(dir: string, meta: string | undefined): string[] {
    write(join(dir, 'my_app', '__init__.py'), '__version__ = "1.0.0"\n')
    const info = join(dir, 'my_app-1.0.0.dist-info')
    if (meta !== undefined) write(join(info, 'METADATA'), meta)
    write(
      join(info, 'WHEEL'),
      'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    )
    write(join(info, 'RECORD'), '')
    return ['my_app', 'my_app-1.0.0.dist-info']
  }

  /** python3 -m zipfile -c (entries stored, not compressed). */
  function storedWheel(out: string, meta: string | undefined): void {
    const tree = mkdtempSync(join(root, 'tree-'))
    execFileSync('python3', ['-m', 'zipfile', '-c', out, ...wheelTree(tree, meta)], { cwd: tree })
  }

  /** Deflated entries, as pip, build and hatch write wheels. */
  function deflatedWheel(out: string, meta: string | undefined): void {
    const tree = mkdtempSync(join(root, 'tree-'))
    wheelTree(tree, meta)
    const script = [
      'import os, sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
      '    for top in sys.argv[2:]:',
      '        for d, _, fs in sorted(os.walk(top)):',
      '            for f in sorted(fs): z.write(os.path.join(d, f))'
    ].join('\n')
    execFileSync('python3', ['-c', script, out, 'my_app', 'my_app-1.0.0.dist-info'], { cwd: tree })
  }

  /**
   * An sdist as setuptools makes one: <name>-<version>/PKG-INFO and another PKG-INFO deeper, in
   * the egg-info (put first in the archive here: only the top one counts).
   */
  function sdist(out: string, meta: string, format: 'gnu' | 'pax' | 'ustar'): void {
    const tree = mkdtempSync(join(root, 'tree-'))
    const top = join(tree, 'my_app-1.0.0')
    write(join(top, 'src', 'my_app.egg-info', 'PKG-INFO'), metadata([...HEAD, 'Summary: egg-info']))
    write(join(top, 'src', 'my_app', '__init__.py'), '')
    write(join(top, 'pyproject.toml'), '[project]\nname = "my-app"\nversion = "1.0.0"\n')
    write(join(top, 'PKG-INFO'), meta)
    execFileSync(
      'tar',
      [
        `--format=${format}`,
        '-czf',
        out,
        '-C',
        tree,
        'my_app-1.0.0/src',
        'my_app-1.0.0/pyproject.toml',
        'my_app-1.0.0/PKG-INFO'
      ],
      { cwd: tree }
    )
  }

  let dist: string
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'wsa-package-info-'))
    dist = join(root, 'dist')
    mkdirSync(dist)
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  const fresh = (): string => mkdtempSync(join(dist, 'd-'))

  test.each<[string, typeof storedWheel]>([
    ['python3 -m zipfile (stored)', storedWheel],
    ['zipfile.ZIP_DEFLATED', deflatedWheel]
  ])('a wheel made with %s: its METADATA', (_name, make) => {
    const dir = fresh()
    make(join(dir, 'my_app-1.0.0-py3-none-any.whl'), WHEEL_META)
    // the archive really holds the file where a wheel does
    const listing = execFileSync(
      'python3',
      ['-m', 'zipfile', '-l', join(dir, 'my_app-1.0.0-py3-none-any.whl')],
      { encoding: 'utf8' }
    )
    expect(listing).toContain('my_app-1.0.0.dist-info/METADATA')
    expect(readPackageInfo(dir, ['my_app-1.0.0-py3-none-any.whl'])).toEqual({
      summary: 'From the wheel',
      license: 'MIT'
    })
  })

  test.each<['gnu' | 'pax' | 'ustar']>([['gnu'], ['pax'], ['ustar']])(
    'an sdist (tar --format=%s): the top PKG-INFO, not the egg-info one',
    (format) => {
      const dir = fresh()
      sdist(join(dir, 'my_app-1.0.0.tar.gz'), SDIST_META, format)
      const listing = execFileSync('tar', ['-tzf', join(dir, 'my_app-1.0.0.tar.gz')], {
        encoding: 'utf8'
      })
      expect(listing.indexOf('my_app-1.0.0/src/my_app.egg-info/PKG-INFO')).toBeLessThan(
        listing.indexOf('my_app-1.0.0/PKG-INFO')
      )
      expect(readPackageInfo(dir, ['my_app-1.0.0.tar.gz'])).toEqual({
        summary: 'From the sdist',
        license: 'Apache-2.0'
      })
    }
  )

  test("an sdist written by Python's tarfile (as build and setuptools do), UTF-8 text", () => {
    const dir = fresh()
    const tree = mkdtempSync(join(root, 'tree-'))
    write(
      join(tree, 'my_app-1.0.0', 'PKG-INFO'),
      metadata([...HEAD, 'Summary: Zürich café — a service', 'License-Expression: MIT'])
    )
    const script = [
      'import sys, tarfile',
      'with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:',
      '    t.add("my_app-1.0.0")'
    ].join('\n')
    execFileSync('python3', ['-c', script, join(dir, 'my_app-1.0.0.tar.gz')], { cwd: tree })
    expect(readPackageInfo(dir, ['my_app-1.0.0.tar.gz'])).toEqual({
      summary: 'Zürich café — a service',
      license: 'MIT'
    })
  })

  test('both: the wheel is read first, whatever the order of the files', () => {
    const dir = fresh()
    sdist(join(dir, 'my_app-1.0.0.tar.gz'), SDIST_META, 'gnu')
    deflatedWheel(join(dir, 'my_app-1.0.0-py3-none-any.whl'), WHEEL_META)
    for (const files of [
      ['my_app-1.0.0.tar.gz', 'my_app-1.0.0-py3-none-any.whl'],
      ['my_app-1.0.0-py3-none-any.whl', 'my_app-1.0.0.tar.gz']
    ]) {
      expect(readPackageInfo(dir, files).summary).toBe('From the wheel')
    }
  })

  test.each<[string, (wheel: string) => void]>([
    ['not a zip at all', (w) => writeFileSync(w, 'this is not a wheel\n')],
    [
      'a zip cut short',
      (w) => {
        deflatedWheel(w, WHEEL_META)
        const data = readFileSync(w)
        writeFileSync(w, data.subarray(0, data.length - 30))
      }
    ],
    ['a wheel without METADATA', (w) => storedWheel(w, undefined)]
  ])('a wheel that describes nothing (%s): the sdist next to it', (_name, breakWheel) => {
    const dir = fresh()
    breakWheel(join(dir, 'my_app-1.0.0-py3-none-any.whl'))
    sdist(join(dir, 'my_app-1.0.0.tar.gz'), SDIST_META, 'gnu')
    expect(readPackageInfo(dir, ['my_app-1.0.0-py3-none-any.whl', 'my_app-1.0.0.tar.gz'])).toEqual({
      summary: 'From the sdist',
      license: 'Apache-2.0'
    })
  })

  test.each<[string, (dir: string) => string[]]>([
    ['no files', () => []],
    ['a file that is not there', () => ['my_app-1.0.0-py3-none-any.whl']],
    [
      'an sdist that is no gzip',
      (dir) => {
        writeFileSync(join(dir, 'my_app-1.0.0.tar.gz'), 'plain text\n')
        return ['my_app-1.0.0.tar.gz']
      }
    ],
    [
      'an sdist without a top PKG-INFO',
      (dir) => {
        const tree = mkdtempSync(join(root, 'tree-'))
        write(join(tree, 'my_app-1.0.0', 'setup.py'), 'print()\n')
        execFileSync('tar', ['-czf', join(dir, 'my_app-1.0.0.tar.gz'), 'my_app-1.0.0'], {
          cwd: tree
        })
        return ['my_app-1.0.0.tar.gz']
      }
    ],
    [
      'a .zip sdist (not read)',
      (dir) => {
        storedWheel(join(dir, 'my_app-1.0.0.zip'), WHEEL_META)
        return ['my_app-1.0.0.zip']
      }
    ]
  ])('%s: nothing, and no error', (_name, setup) => {
    const dir = fresh()
    const files = setup(dir)
    expect(readPackageInfo(dir, files)).toEqual({})
  })
})
