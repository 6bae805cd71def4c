// Placeholder until the search issue lands: hand over to oclif.
export async function runSearchFast (argv: string[]): Promise<number> {
  const { execute } = await import('@oclif/core')
  await execute({ args: ['search', ...argv], dir: import.meta.url })
  return 0
}
