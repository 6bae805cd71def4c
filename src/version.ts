/** The running rustory version, read once from package.json. */
import { readFileSync } from 'node:fs'

let cached: string | undefined

export function rustoryVersion (): string {
  if (cached == null) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    cached = pkg.version
  }
  return cached
}
