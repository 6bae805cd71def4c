import test from 'ava'
import { parseRecordArgs } from '../src/record.js'

test('record flags take --name value and --name=value; booleans stand alone', (t) => {
  t.deepEqual(parseRecordArgs(['--cmd', 'make test', '--cwd=/src/a=b', '--stdin', '--exit-code', '2', '--print-id']),
    { cmd: 'make test', cwd: '/src/a=b', stdin: true, 'exit-code': '2', 'print-id': true })
  t.deepEqual(parseRecordArgs([]), {})
})

test('a record flag value may start with a dash: the shells hand over whatever was typed', (t) => {
  t.deepEqual(parseRecordArgs(['--cmd', '-rf', '--cwd', '--weird-dir']), { cmd: '-rf', cwd: '--weird-dir' })
  t.deepEqual(parseRecordArgs(['--exit-code', '-1']), { 'exit-code': '-1' })
})

test('unknown flags, positionals, a missing value and a value on a boolean are errors', (t) => {
  t.throws(() => parseRecordArgs(['--nope', 'x']), { message: 'unknown option --nope' })
  t.throws(() => parseRecordArgs(['--constructor', 'x']), { message: 'unknown option --constructor' })
  t.throws(() => parseRecordArgs(['make']), { message: 'unexpected argument "make"' })
  t.throws(() => parseRecordArgs(['--', '--cmd', 'x']), { message: 'unexpected argument "--"' })
  t.throws(() => parseRecordArgs(['-c', 'x']), { message: 'unexpected argument "-c"' })
  t.throws(() => parseRecordArgs(['--cmd']), { message: '--cmd needs a value' })
  t.throws(() => parseRecordArgs(['--stdin=yes']), { message: '--stdin takes no value' })
})
