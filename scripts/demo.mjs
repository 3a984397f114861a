#!/usr/bin/env node
// A first run with no cloud account: a throwaway OpenSSH server on 127.0.0.1 plays the cloud host
// (the same sandbox the tests use), orch runs a real job there in tmux, follows its log to
// [EXIT: 0], shows status and list, then everything is removed.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const orchBin = join(root, 'bin', 'run.js')

const need = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['tmux', 'tmux'],
].filter(([bin]) => (bin.startsWith('/') ? !existsSync(bin) : spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0))
if (need.length > 0) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo '
  console.error(`the demo needs ${need.map(([, pkg]) => pkg).join(' and ')}: ${sudo}apt-get install -y ${need.map(([, pkg]) => pkg).join(' ')}`)
  process.exit(1)
}

const {startSandboxSshd} = await import(join(root, 'dist-test', 'sandbox-sshd.js'))
const sandbox = await startSandboxSshd()
const home = await mkdtemp(join(tmpdir(), 'orch-demo-home-'))
const env = {...process.env, ...sandbox.env(), HOME: home}
const orch = (...args) => {
  console.log(`\n$ orch ${args.map((a) => (/[\s'"$]/.test(a) ? `'${a}'` : a)).join(' ')}`)
  return spawnSync(process.execPath, [orchBin, ...args], {env, stdio: 'inherit'}).status
}

let status = 1
try {
  console.log(`sandbox cloud host: ${sandbox.user}@127.0.0.1:${sandbox.port} (a private sshd; jobs run in tmux there)`)
  orch('route', '--runtime', '15m')
  const name = 'demo-hello'
  orch('run', name, '--runtime', '15m', '--', 'echo "hello from $(hostname) in tmux session $(tmux display-message -p "#S")"; for i in 1 2 3; do echo "step $i"; sleep 1; done; echo done')
  orch('status')
  status = orch('logs', '-f', name)
  orch('list')
  console.log(`\nthe job exited ${status}; its log was ${sandbox.logRoot}/${name}/run.log`)
  console.log('to use a real host, copy .env.example to scripts/cloud/.env and set ORCH_HOST, ORCH_USER and ORCH_SSH_KEY')
} finally {
  await sandbox.cleanup()
  await rm(home, {recursive: true, force: true})
}
process.exit(status)
