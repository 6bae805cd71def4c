import test from 'ava'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTrackerAddress } from '../../src/config/tracker-address.js'
import { ConfigError, loadSettings } from '../../src/config/settings.js'
import { tempDir } from '../helpers/tmp.js'

const accepted: Array<[string, string]> = [
  ['http://127.0.0.1:8850', 'http://127.0.0.1:8850'],
  ['https://tracker.example.com:443/rustory/', 'https://tracker.example.com/rustory'],
  ['http://tracker.example.com:8850/', 'http://tracker.example.com:8850'],
  ['127.0.0.1:8850', 'http://127.0.0.1:8850'],
  ['tracker.example.com:8850', 'http://tracker.example.com:8850'],
  ['[::1]:8850', 'http://[::1]:8850'],
  ['/ip4/203.0.113.7/tcp/8850', 'http://203.0.113.7:8850'],
  ['/ip6/::1/tcp/8850', 'http://[::1]:8850'],
  ['/dns4/tracker.example.com/tcp/8850', 'http://tracker.example.com:8850'],
  ['/dns6/tracker.example.com/tcp/443/https', 'https://tracker.example.com'],
  ['/dns/tracker.example.com/tcp/8850/http', 'http://tracker.example.com:8850']
]

for (const [input, url] of accepted) {
  test(`accepts ${input} as ${url}`, (t) => {
    t.is(parseTrackerAddress(input), url)
  })
}

const refused = [
  '', 'tracker', 'tracker.example.com', ':8850', '127.0.0.1:0', '127.0.0.1:70000', 'ftp://127.0.0.1:21',
  '/ip4/127.0.0.1', '/ip4/127.0.0.1/udp/8850', '/ip4/not-an-ip/tcp/8850', '/tcp/8850', '/ip4/127.0.0.1/tcp/8850/p2p/12D3KooW',
  'http://user:pw@127.0.0.1:8850', 'http://127.0.0.1:8850/?x=1'
]

for (const input of refused) {
  test(`refuses ${JSON.stringify(input)} and names the accepted forms`, (t) => {
    t.throws(() => parseTrackerAddress(input), { name: 'TrackerAddressError', message: /not a tracker address.*host:port/ })
  })
}

test('a malformed tracker in the config is reported when the settings are read, naming the file and the key', (t) => {
  const home = tempDir(t)
  mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
  writeFileSync(join(home, '.config', 'rustory', 'config.toml'), 'trackers = ["127.0.0.1:8850", "tracker.example.com"]\n')
  const err = t.throws(() => loadSettings({}, { HOME: home }), { instanceOf: ConfigError })
  t.regex(err.message, /config\.toml: key "trackers": "tracker\.example\.com" is not a tracker address/)
})

test('the flag and the environment are named too, and every form is normalized for the client', (t) => {
  const home = tempDir(t)
  t.throws(() => loadSettings({ trackers: ['nope'] }, { HOME: home }), { message: /^--trackers: "nope"/ })
  t.throws(() => loadSettings({}, { HOME: home, RUSTORY_TRACKERS: 'a:b' }), { message: /^environment RUSTORY_TRACKERS: "a:b"/ })
  t.deepEqual(loadSettings({}, { HOME: home, RUSTORY_TRACKERS: '127.0.0.1:8850,/ip4/10.0.0.1/tcp/9' }).trackers, ['http://127.0.0.1:8850', 'http://10.0.0.1:9'])
})
