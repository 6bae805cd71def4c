/**
 * The running rustory version. A constant, not read from package.json at run time: `rr record` stamps it on
 * every entry and runs on every prompt. test/cli/version.test.ts fails when it drifts from package.json.
 */
export const version = '0.1.0'

export function rustoryVersion (): string {
  return version
}
