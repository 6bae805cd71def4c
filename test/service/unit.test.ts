import test from 'ava'
import { launchdPlist, servicePath, systemdUnit } from '../../src/service/unit.js'

const spec = { node: '/usr/bin/node', rr: '/opt/rustory/bin/rr', home: '/home/alice' }

test('the systemd unit runs rr daemon with absolute node and rr paths, restarts on failure, starts with the user session', (t) => {
  const unit = systemdUnit(spec)
  t.regex(unit, /^ExecStart=\/usr\/bin\/node \/opt\/rustory\/bin\/rr daemon$/m)
  t.regex(unit, /^Restart=on-failure$/m)
  t.regex(unit, /^WantedBy=default\.target$/m)
  t.regex(unit, /^\[Unit\]\n/)
  t.regex(unit, /\n\[Service\]\n/)
  t.regex(unit, /\n\[Install\]\n/)
  t.is(servicePath('systemd', '/home/alice'), '/home/alice/.config/systemd/user/rustory.service')
})

test('global options go before daemon; paths with spaces are quoted for systemd', (t) => {
  const unit = systemdUnit({ ...spec, rr: '/home/alice/my tools/rr', globalArgs: ['--db-path', '/data/h.db'] })
  t.regex(unit, /^ExecStart=\/usr\/bin\/node "\/home\/alice\/my tools\/rr" --db-path \/data\/h\.db daemon$/m)
})

test('the launchd agent runs the same command at load, restarts it when it fails, and logs under ~/.rustory', (t) => {
  const plist = launchdPlist({ ...spec, globalArgs: ['--db-path', '/data/a&b.db'] })
  t.regex(plist, /<key>ProgramArguments<\/key>\s*<array>\s*<string>\/usr\/bin\/node<\/string>\s*<string>\/opt\/rustory\/bin\/rr<\/string>\s*<string>--db-path<\/string>\s*<string>\/data\/a&amp;b\.db<\/string>\s*<string>daemon<\/string>\s*<\/array>/)
  t.regex(plist, /<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/)
  t.regex(plist, /<key>RunAtLoad<\/key>\s*<true\/>/)
  t.regex(plist, /\/home\/alice\/\.rustory\/daemon\.log/)
  t.is(servicePath('launchd', '/home/alice'), '/home/alice/Library/LaunchAgents/dev.rustory.daemon.plist')
})
