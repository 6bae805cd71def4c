/** oclif Flags built from the shared flag specs (options.ts), so `--help` and the fast path never drift. */
import { Flags } from '@oclif/core'
import type { FlagSpec } from './options.js'

function flagOf (spec: FlagSpec) {
  switch (spec.kind) {
    case 'boolean': return Flags.boolean({ description: spec.description })
    case 'integer': return Flags.integer({ description: spec.description })
    case 'string': return Flags.string({ description: spec.description })
  }
}

// oclif's flag types are generic per flag; a list built at run time is typed loosely on purpose.

export function oclifFlags (specs: readonly FlagSpec[]): Record<string, any> {
  return Object.fromEntries(specs.map((s) => [s.name, flagOf(s)]))
}
