import { describe, expect, test } from '@jest/globals'
import { Distribution, parseDistFile, resolvePackage } from '../src/package-meta.js'
import { InputError } from '../src/validate.js'

describe('parseDistFile', () => {
  test.each<[string, Omit<Distribution, 'file'>]>([
    ['my_app-1.0.0-py3-none-any.whl', { name: 'my-app', version: '1.0.0' }],
    ['my_app-1.0.0-1-py3-none-any.whl', { name: 'my-app', version: '1.0.0' }],
    [
      'my_app-1.0.0-12abc-cp312-cp312-manylinux_2_17_x86_64.whl',
      { name: 'my-app', version: '1.0.0' }
    ],
    [
      'numpy-2.0.1-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl',
      { name: 'numpy', version: '2.0.1' }
    ],
    ['My_App-2.0rc1-py3-none-any.whl', { name: 'my-app', version: '2.0rc1' }],
    ['zope.interface-6.4-cp312-cp312-linux_armv7l.whl', { name: 'zope-interface', version: '6.4' }],
    ['pkg-1.0+local.7-py3-none-any.whl', { name: 'pkg', version: '1.0+local.7' }],
    ['pkg-1!2.0.post1-py3-none-any.whl', { name: 'pkg', version: '1!2.0.post1' }],
    ['my_app-1.0.0.tar.gz', { name: 'my-app', version: '1.0.0' }],
    ['my_app-1.0.0.zip', { name: 'my-app', version: '1.0.0' }],
    ['my-app-1.0.0.tar.gz', { name: 'my-app', version: '1.0.0' }],
    [
      'brewblox-devcon-spark-0.9.1.dev3.tar.gz',
      { name: 'brewblox-devcon-spark', version: '0.9.1.dev3' }
    ],
    ['py3-foo-2-1.0.tar.gz', { name: 'py3-foo-2', version: '1.0' }],
    ['Django-5.0.tar.gz', { name: 'django', version: '5.0' }]
  ])('%s', (file, expected) => {
    expect(parseDistFile(file)).toEqual({ file, ...expected })
  })

  test.each([
    'README.md',
    '.gitignore',
    'my_app-1.0.0.tar.gz.asc',
    'my_app-1.0.0-py3-none-any.whl.metadata',
    'my_app-1.0.0.tar.bz2',
    'my_app-1.0.0-py3.12.egg',
    'my_app.tar.gz',
    'my_app-v1.0.tar.gz',
    'my_app-1.0.0-py3-any.whl',
    'my_app-1.0.0-rc1.tar.gz',
    '',
    'dist'
  ])('junk %j is ignored', (file) => {
    expect(parseDistFile(file)).toBeUndefined()
  })
})

describe('resolvePackage', () => {
  const one = ['my_app-1.0.0.tar.gz', 'my_app-1.0.0-py3-none-any.whl', 'README.md']
  const several = [...one, 'My_Pkg-0.3.0.tar.gz', 'other.lib-2.0-py3-none-any.whl', 'notes.txt']

  test('the single package', () => {
    expect(resolvePackage(one, 'dist', '', '')).toEqual({
      name: 'my-app',
      version: '1.0.0',
      module: 'my_app',
      files: ['my_app-1.0.0-py3-none-any.whl', 'my_app-1.0.0.tar.gz']
    })
  })

  test.each<[string, string]>([
    ['my-pkg', 'my-pkg'],
    ['My_Pkg', 'my-pkg'],
    ['my.pkg', 'my-pkg'],
    ['MY__PKG', 'my-pkg'],
    ['my_app', 'my-app'],
    ['Other-Lib', 'other-lib']
  ])('package %j picks %s among several (normalised names)', (input, name) => {
    expect(resolvePackage(several, 'dist', input, '').name).toBe(name)
  })

  test('versions and modules of the picked package', () => {
    expect(resolvePackage(several, 'dist', 'my-pkg', '')).toEqual({
      name: 'my-pkg',
      version: '0.3.0',
      module: 'my_pkg',
      files: ['My_Pkg-0.3.0.tar.gz']
    })
    expect(resolvePackage(several, 'dist', 'other.lib', '')).toEqual({
      name: 'other-lib',
      version: '2.0',
      module: 'other_lib',
      files: ['other.lib-2.0-py3-none-any.whl']
    })
  })

  test("the package's own files: every spelling of its name, sorted, nothing else", () => {
    const files = [
      'My-App-1.0.0.zip',
      'my_app-1.0.0-cp312-cp312-linux_armv7l.whl',
      'my_app-1.0.0.tar.gz',
      'my_app_extras-1.0.0.tar.gz',
      'my_app-1.0.0.tar.gz.asc',
      'README.md'
    ]
    expect(resolvePackage(files, 'dist', 'my-app', '').files).toEqual([
      'My-App-1.0.0.zip',
      'my_app-1.0.0-cp312-cp312-linux_armv7l.whl',
      'my_app-1.0.0.tar.gz'
    ])
  })

  test('the module input wins over the default', () => {
    expect(resolvePackage(one, 'dist', '', 'my_app.cli').module).toBe('my_app.cli')
    expect(resolvePackage(several, 'dist', 'other-lib', 'olib').module).toBe('olib')
  })

  const error = (f: () => unknown): InputError => {
    try {
      f()
    } catch (e) {
      if (e instanceof InputError) return e
      throw e
    }
    throw new Error('no error thrown')
  }

  test('several packages and no package input: names "package" and lists them', () => {
    const e = error(() => resolvePackage(several, 'build/dist', '', ''))
    expect(e.message).toMatch(/^Input "package": "" is not valid; expected /)
    expect(e.message).toContain('"build/dist" holds several: my-app, my-pkg, other-lib')
  })

  test('a package that is not there: names "package", the value and the found names', () => {
    const e = error(() => resolvePackage(several, 'dist', 'nope', ''))
    expect(e.message).toMatch(/^Input "package": "nope" is not valid; expected /)
    expect(e.message).toContain('my-app, my-pkg, other-lib')
  })

  test('several versions of the package: names "dist" and lists the versions', () => {
    const files = ['my_app-1.0.0.tar.gz', 'my_app-1.1.0-py3-none-any.whl', 'my_app-1.0.0.zip']
    const e = error(() => resolvePackage(files, 'dist', '', ''))
    expect(e.message).toMatch(/^Input "dist": "dist" is not valid; expected /)
    expect(e.message).toContain('found 1.0.0, 1.1.0')
  })

  test('other packages with several versions do not matter', () => {
    const files = [...one, 'dep-1.0.tar.gz', 'dep-2.0.tar.gz']
    expect(resolvePackage(files, 'dist', 'my-app', '').version).toBe('1.0.0')
  })

  test.each<[string, string[]]>([
    ['empty', []],
    ['junk only', ['README.md', 'my_app.egg-info', '.DS_Store']]
  ])('%s dist: names "dist"', (_name, files) => {
    const e = error(() => resolvePackage(files, 'out', '', ''))
    expect(e.message).toMatch(/^Input "dist": "out" is not valid; expected /)
    expect(e.message).toContain('python -m build')
  })
})
