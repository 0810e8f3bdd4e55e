import { describe, expect, test } from '@jest/globals'
import { decideRuns, hostSupport, nativeArch, QemuNeed, Runs } from '../src/qemu.js'

const none = (): boolean => false
const all = (): boolean => true
const only =
  (...handlers: string[]) =>
  (h: string): boolean =>
    handlers.includes(h)

const need = (platform: string, handler: string, install: string): QemuNeed => ({
  platform,
  handler,
  install
})
const ARM = need('linux/arm/v7', 'qemu-arm', 'arm')

describe('hostSupport', () => {
  test.each<[string, string, 'native' | 'try' | 'emulated']>([
    ['linux/amd64', 'amd64', 'native'],
    ['linux/386', 'amd64', 'native'],
    ['linux/arm64', 'amd64', 'emulated'],
    ['linux/arm/v7', 'amd64', 'emulated'],
    ['linux/arm/v6', 'amd64', 'emulated'],
    ['linux/riscv64', 'amd64', 'emulated'],
    ['linux/arm64', 'arm64', 'native'],
    // an arm64 CPU may or may not have AArch32: only trying tells
    ['linux/arm/v7', 'arm64', 'try'],
    ['linux/arm/v6', 'arm64', 'try'],
    ['linux/amd64', 'arm64', 'emulated'],
    ['linux/386', 'arm64', 'emulated'],
    ['linux/arm/v7', 'arm', 'native'],
    ['linux/arm/v6', 'arm', 'native'],
    ['linux/arm64', 'arm', 'emulated'],
    ['linux/s390x', 's390x', 'native']
  ])('%s on an %s host: %s', (platform, arch, support) => {
    expect(hostSupport(platform, arch)).toBe(support)
  })
})

describe('decideRuns: native or emulated, and the handlers still to register', () => {
  // [name, platforms, host arch, handlers present, the probe's answer, runs, missing]
  test.each<[string, string[], string, string[], boolean, Record<string, Runs>, QemuNeed[]]>([
    [
      'amd64 host: amd64 native',
      ['linux/amd64'],
      'amd64',
      [],
      false,
      { 'linux/amd64': 'native' },
      []
    ],
    ['amd64 host: 386 native', ['linux/386'], 'amd64', [], false, { 'linux/386': 'native' }, []],
    [
      'amd64 host: arm/v7 without a handler: emulated, the handler to register',
      ['linux/arm/v7'],
      'amd64',
      [],
      false,
      { 'linux/arm/v7': 'emulated' },
      [ARM]
    ],
    [
      'amd64 host: arm/v7 with its handler: emulated, nothing to register',
      ['linux/arm/v7'],
      'amd64',
      ['qemu-arm'],
      false,
      { 'linux/arm/v7': 'emulated' },
      []
    ],
    [
      'amd64 host: arm/v7 is never tried natively, whatever a probe would say',
      ['linux/arm/v7'],
      'amd64',
      [],
      true,
      { 'linux/arm/v7': 'emulated' },
      [ARM]
    ],
    [
      'amd64 host: amd64 + arm/v7 + arm64, only qemu-aarch64 there',
      ['linux/amd64', 'linux/arm/v7', 'linux/arm64'],
      'amd64',
      ['qemu-aarch64'],
      false,
      { 'linux/amd64': 'native', 'linux/arm/v7': 'emulated', 'linux/arm64': 'emulated' },
      [ARM]
    ],
    [
      'amd64 host: the rest need their own handlers',
      ['linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'linux/arm/v6'],
      'amd64',
      [],
      false,
      {
        'linux/ppc64le': 'emulated',
        'linux/s390x': 'emulated',
        'linux/riscv64': 'emulated',
        'linux/arm/v6': 'emulated'
      },
      [
        need('linux/ppc64le', 'qemu-ppc64le', 'ppc64le'),
        need('linux/s390x', 'qemu-s390x', 's390x'),
        need('linux/riscv64', 'qemu-riscv64', 'riscv64'),
        need('linux/arm/v6', 'qemu-arm', 'arm')
      ]
    ],
    [
      'arm64 host: arm64 native',
      ['linux/arm64'],
      'arm64',
      [],
      false,
      { 'linux/arm64': 'native' },
      []
    ],
    [
      'arm64 host: arm/v7 native when the probe runs and no handler is there',
      ['linux/arm/v7'],
      'arm64',
      [],
      true,
      { 'linux/arm/v7': 'native' },
      []
    ],
    [
      'arm64 host: arm/v7 emulated when the probe fails (no AArch32)',
      ['linux/arm/v7'],
      'arm64',
      [],
      false,
      { 'linux/arm/v7': 'emulated' },
      [ARM]
    ],
    [
      'arm64 host: arm/v7 emulated when a handler exists (it would take over anyway)',
      ['linux/arm/v7'],
      'arm64',
      ['qemu-arm'],
      true,
      { 'linux/arm/v7': 'emulated' },
      []
    ],
    [
      'arm64 host: arm/v6 like arm/v7',
      ['linux/arm/v6'],
      'arm64',
      [],
      true,
      { 'linux/arm/v6': 'native' },
      []
    ],
    [
      'arm64 host: amd64 emulated, its handler to register',
      ['linux/amd64'],
      'arm64',
      [],
      true,
      { 'linux/amd64': 'emulated' },
      [need('linux/amd64', 'qemu-x86_64', 'amd64')]
    ],
    [
      'arm64 host: amd64 with its handler',
      ['linux/amd64'],
      'arm64',
      ['qemu-x86_64'],
      false,
      { 'linux/amd64': 'emulated' },
      []
    ],
    [
      'arm64 host: 386 needs qemu-i386',
      ['linux/386'],
      'arm64',
      [],
      false,
      { 'linux/386': 'emulated' },
      [need('linux/386', 'qemu-i386', '386')]
    ],
    [
      'arm64 host: amd64, arm/v7 (probe runs), arm64',
      ['linux/amd64', 'linux/arm/v7', 'linux/arm64'],
      'arm64',
      [],
      true,
      { 'linux/amd64': 'emulated', 'linux/arm/v7': 'native', 'linux/arm64': 'native' },
      [need('linux/amd64', 'qemu-x86_64', 'amd64')]
    ],
    [
      '32-bit arm host: arm/v7 and v6 native',
      ['linux/arm/v7', 'linux/arm/v6'],
      'arm',
      [],
      false,
      { 'linux/arm/v7': 'native', 'linux/arm/v6': 'native' },
      []
    ],
    ['no platforms', [], 'amd64', [], false, {}, []]
  ])('%s', (_name, platforms, arch, handlers, probe, runs, missing) => {
    expect(decideRuns(platforms, arch, only(...handlers), () => probe)).toEqual({ runs, missing })
  })

  test('the probe is asked only about a platform the CPU may run, and only without a handler', () => {
    const probed: string[] = []
    const probe = (p: string): boolean => {
      probed.push(p)
      return true
    }
    const platforms = ['linux/amd64', 'linux/386', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm64']
    decideRuns(platforms, 'arm64', none, probe)
    expect(probed).toEqual(['linux/arm/v7', 'linux/arm/v6'])
    probed.length = 0
    decideRuns(platforms, 'arm64', all, probe)
    expect(probed).toEqual([])
    decideRuns(platforms, 'amd64', none, probe)
    expect(probed).toEqual([])
  })

  test('the handler reader is not asked about native platforms', () => {
    const asked: string[] = []
    decideRuns(
      ['linux/amd64', 'linux/386', 'linux/arm/v7'],
      'amd64',
      (h) => {
        asked.push(h)
        return false
      },
      none
    )
    expect([...new Set(asked)]).toEqual(['qemu-arm'])
  })
})

describe('nativeArch', () => {
  test.each([
    ['x64', 'amd64'],
    ['arm64', 'arm64'],
    ['arm', 'arm'],
    ['ia32', '386'],
    ['ppc64', 'ppc64le'],
    ['s390x', 's390x'],
    ['riscv64', 'riscv64'],
    ['loong64', 'loong64']
  ])('%s → %s', (node, docker) => {
    expect(nativeArch(node)).toBe(docker)
  })

  test('defaults to this process', () => {
    expect(nativeArch()).toBe(nativeArch(process.arch))
  })
})
