/**
 * Typed jest.fn fakes of the @actions/core functions main.ts and its helpers call, registered
 * with jest.unstable_mockModule('@actions/core', () => core) before main.js is imported.
 */
import type * as core from '@actions/core'
import { jest } from '@jest/globals'

export const getInput = jest.fn<typeof core.getInput>()
export const setOutput = jest.fn<typeof core.setOutput>()
export const setFailed = jest.fn<typeof core.setFailed>()
export const saveState = jest.fn<typeof core.saveState>()
export const getState = jest.fn<typeof core.getState>()
export const setSecret = jest.fn<typeof core.setSecret>()
export const info = jest.fn<typeof core.info>()
export const warning = jest.fn<typeof core.warning>()
export const debug = jest.fn<typeof core.debug>()
export const error = jest.fn<typeof core.error>()
export const group = jest.fn(<T>(_name: string, fn: () => Promise<T>): Promise<T> => fn())

/** The parts of core.summary the action uses: every add* returns the fake, write resolves. */
export interface FakeSummary {
  addHeading: (text: string, level?: number | string) => FakeSummary
  addRaw: (text: string, addEOL?: boolean) => FakeSummary
  addCodeBlock: (code: string, lang?: string) => FakeSummary
  addTable: (rows: Parameters<typeof core.summary.addTable>[0]) => FakeSummary
  write: () => Promise<FakeSummary>
}

export const summary = {
  addHeading: jest.fn<FakeSummary['addHeading']>(),
  addRaw: jest.fn<FakeSummary['addRaw']>(),
  addCodeBlock: jest.fn<FakeSummary['addCodeBlock']>(),
  addTable: jest.fn<FakeSummary['addTable']>(),
  write: jest.fn<FakeSummary['write']>()
}

/** (Re)installs the default behaviour; call after jest.resetAllMocks(). */
export function installDefaults(): void {
  getInput.mockReturnValue('')
  getState.mockReturnValue('')
  group.mockImplementation(<T>(_name: string, fn: () => Promise<T>): Promise<T> => fn())
  summary.addHeading.mockReturnValue(summary)
  summary.addRaw.mockReturnValue(summary)
  summary.addCodeBlock.mockReturnValue(summary)
  summary.addTable.mockReturnValue(summary)
  summary.write.mockResolvedValue(summary)
}
installDefaults()
