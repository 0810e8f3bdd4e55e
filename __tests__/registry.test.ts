/**
 * registryOf: the registry host a reference names, the one a refused login or an unreachable
 * registry is named by (and docker/login-action is told to log in to).
 */
import { describe, expect, test } from '@jest/globals'
import { registryOf } from '../src/registry.js'

describe('registryOf', () => {
  test.each<[string, string]>([
    ['ghcr.io/o/a:1', 'ghcr.io'],
    ['localhost:5000/a:b', 'localhost:5000'],
    ['o/a:1', 'docker.io'],
    ['a:1', 'docker.io'],
    // a first component with a dot or a port, or "localhost", is a host; anything else a namespace
    ['localhost/a:1', 'localhost'],
    ['docker.io/library/python:3.12', 'docker.io'],
    ['registry.example.com:443/team/app@sha256:' + 'a'.repeat(64), 'registry.example.com:443'],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
    ],
    ['python', 'docker.io'],
    ['library/python:3.12-slim', 'docker.io']
  ])('%s → %s', (ref, registry) => {
    expect(registryOf(ref)).toBe(registry)
  })
})
