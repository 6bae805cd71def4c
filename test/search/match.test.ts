import test from 'ava'
import { compileQuery } from '../../src/search/match.js'

const cases: Array<{ name: string, query: string, yes: string[], no: string[] }> = [
  { name: 'an empty query matches everything', query: '', yes: ['anything', ''], no: [] },
  { name: 'a plain term is fuzzy: its characters in order', query: 'gst', yes: ['git status', 'GST'], no: ['stg', 'git'] },
  { name: 'terms separated by spaces must all match', query: 'git push', yes: ['git push origin', 'push git'], no: ['git pull'] },
  { name: "'term is an exact substring", query: "'stat", yes: ['git status'], no: ['s t a t'] },
  { name: '^term is a prefix', query: '^docker', yes: ['docker ps'], no: ['sudo docker ps'] },
  { name: 'term$ is a suffix', query: '.ts$', yes: ['vim main.ts'], no: ['main.ts.bak'] },
  { name: '^term$ is the whole command', query: '^ls$', yes: ['ls', 'LS'], no: ['ls -la'] },
  { name: '!term excludes commands containing it', query: 'git !push', yes: ['git pull'], no: ['git push'] },
  { name: '!^term excludes a prefix', query: '!^sudo', yes: ['apt install', 'x sudo'], no: ['sudo apt install'] },
  { name: 'lower-case terms ignore case', query: 'make', yes: ['MAKE test', 'Makefile'], no: [] },
  { name: 'a term with upper case is case-sensitive', query: "'Make", yes: ['Makefile'], no: ['make'] },
  { name: 'backslash-space is a literal space', query: "'a\\ b", yes: ['a b'], no: ['ab', 'a  b'] },
  { name: 'multi-line commands match across lines', query: "'done", yes: ['for x; do\n  y\ndone'], no: [] },
  { name: 'non-ASCII text matches', query: "'café", yes: ['echo café'], no: ['echo cafe'] }
]

for (const c of cases) {
  test(`filter query: ${c.name}`, (t) => {
    const match = compileQuery(c.query)
    for (const cmd of c.yes) t.true(match(cmd), `${JSON.stringify(c.query)} should match ${JSON.stringify(cmd)}`)
    for (const cmd of c.no) t.false(match(cmd), `${JSON.stringify(c.query)} should not match ${JSON.stringify(cmd)}`)
  })
}
