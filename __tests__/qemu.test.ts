import { describe, expect, test } from '@jest/globals'
import { emulationNeeds, nativeArch, QemuNeed } from '../src/qemu.js'

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

describe('emulationNeeds', () => {
  test.each<[string, string[], string, QemuNeed[]]>([
    ['amd64 runs amd64 natively', ['linux/amd64'], 'amd64', []],
    ['amd64 runs 386 natively', ['linux/386'], 'amd64', []],
    [
      'amd64 + arm/v7',
      ['linux/amd64', 'linux/arm/v7'],
      'amd64',
      [need('linux/arm/v7', 'qemu-arm', 'arm')]
    ],
    ['arm64 on amd64', ['linux/arm64'], 'amd64', [need('linux/arm64', 'qemu-aarch64', 'arm64')]],
    ['arm/v6 on amd64', ['linux/arm/v6'], 'amd64', [need('linux/arm/v6', 'qemu-arm', 'arm')]],
    [
      'the rest on amd64',
      ['linux/ppc64le', 'linux/s390x', 'linux/riscv64'],
      'amd64',
      [
        need('linux/ppc64le', 'qemu-ppc64le', 'ppc64le'),
        need('linux/s390x', 'qemu-s390x', 's390x'),
        need('linux/riscv64', 'qemu-riscv64', 'riscv64')
      ]
    ],
    ['arm64 runs arm64 natively', ['linux/arm64'], 'arm64', []],
    [
      'arm64 still needs qemu for amd64 and arm/v7',
      ['linux/amd64', 'linux/arm/v7', 'linux/arm64'],
      'arm64',
      [need('linux/amd64', 'qemu-x86_64', 'amd64'), need('linux/arm/v7', 'qemu-arm', 'arm')]
    ],
    ['arm64 needs qemu for 386', ['linux/386'], 'arm64', [need('linux/386', 'qemu-i386', '386')]],
    ['32-bit arm runs arm/v7 and v6', ['linux/arm/v7', 'linux/arm/v6'], 'arm', []]
  ])('%s', (_name, platforms, arch, expected) => {
    expect(emulationNeeds(platforms, arch, none)).toEqual({ missing: expected, present: [] })
    expect(emulationNeeds(platforms, arch, all)).toEqual({ missing: [], present: expected })
  })

  test('missing and present split by the handler reader', () => {
    const platforms = ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/s390x']
    expect(emulationNeeds(platforms, 'amd64', only('qemu-aarch64'))).toEqual({
      missing: [
        need('linux/arm/v7', 'qemu-arm', 'arm'),
        need('linux/s390x', 'qemu-s390x', 's390x')
      ],
      present: [need('linux/arm64', 'qemu-aarch64', 'arm64')]
    })
  })

  test('the reader is only asked about non-native handlers', () => {
    const asked: string[] = []
    emulationNeeds(['linux/amd64', 'linux/386', 'linux/arm/v7'], 'amd64', (h) => {
      asked.push(h)
      return false
    })
    expect([...new Set(asked)]).toEqual(['qemu-arm'])
  })

  test('no platforms, no needs', () => {
    expect(emulationNeeds([], 'amd64', none)).toEqual({ missing: [], present: [] })
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
