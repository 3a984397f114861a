/**
 * ORCH_HOST read the way OpenSSH reads a destination: `user@host:port` forms parsed here, then the
 * installed client's own evaluation of its configuration (`ssh -G NAME`: Include, wildcard Host
 * blocks, Match — no network), turned into an SshTarget. ORCH_* settings given explicitly win.
 * Without an `ssh` binary the name is taken literally (OpenSSH's defaults, no config file read).
 */
import {spawn} from 'node:child_process'
import {realpathSync} from 'node:fs'
import {rm, writeFile} from 'node:fs/promises'
import {homedir, hostname as localHostname, tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

import {OrchError, configError} from '../errors/errors.js'
import {SYSTEM_SSH_CONFIG, type SshGQuestion, keepSshG, keptSshG, sshGInputs} from './ssh-g-cache.js'

export interface SshTarget {
  /** The address connected to (HostName). */
  host: string
  port: number
  user: string
  /** An explicit key (ORCH_SSH_KEY): must be readable; tried before keyPaths. */
  keyPath?: string
  /** Identity files in OpenSSH's order (configured, else the defaults); missing ones are skipped. */
  keyPaths?: string[]
  /** Agent keys limited to the public halves of keyPath/keyPaths. */
  identitiesOnly?: boolean
  /** The agent socket; undefined: $SSH_AUTH_SOCK; null: no agent (IdentityAgent none). */
  agentSocket?: string | null
  passphrase?: string
  /** known_hosts file read and appended to. */
  knownHostsPath: string
  /** Further known_hosts files read (the rest of UserKnownHostsFile, GlobalKnownHostsFile). */
  otherKnownHostsPaths?: string[]
  acceptNewHostKey: boolean
  /** Name looked up in known_hosts instead of host:port (HostKeyAlias). */
  hostKeyAlias?: string
  /** Milliseconds to wait for the connection, the handshake and authentication (ConnectTimeout). */
  readyTimeoutMs?: number
  keepaliveIntervalMs?: number
  keepaliveCountMax?: number
  /** ProxyJump hops, outermost first, each as written (resolved through ssh -G when connecting). */
  proxyJump?: string[]
  /** ProxyCommand with its %-tokens expanded, run by /bin/sh. */
  proxyCommand?: string
  /** The name as given (an alias, or the host), for messages. */
  name?: string
  /** The OpenSSH configuration that was read, for messages. */
  configFile?: string
  /** What hops are resolved with. */
  resolver?: SshResolveOptions
}

/** ORCH_* settings that win over the OpenSSH configuration (only those set explicitly). */
export interface SshResolveOptions {
  /** ORCH_SSH_CONFIG (like ssh -F). */
  configFile?: string
  user?: string
  port?: number
  keyPath?: string
  passphrase?: string
  /** ORCH_KNOWN_HOSTS when set explicitly. */
  knownHostsPath?: string
  /** ORCH_KNOWN_HOSTS's default, used when neither it nor UserKnownHostsFile is set. */
  defaultKnownHostsPath: string
  /** ORCH_ACCEPT_NEW_HOST_KEY / --accept-new-host-key when given; else StrictHostKeyChecking decides. */
  acceptNewHostKey?: boolean
  /** ProxyJump given by the hop chain (overrides the host's own, like ssh -J). */
  jump?: string[]
  /** Which setting named this host, for messages (ORCH_HOST, a ProxyJump hop, …). */
  setting?: string
  env?: NodeJS.ProcessEnv
  /** The ssh binary (tests); default `ssh` on PATH. */
  sshBinary?: string
  /** A private folder where ssh -G's answer is kept for the next commands (see ssh-g-cache.ts); none: ssh -G every time. */
  keepSshGIn?: string
}

export interface HostSpec {
  user?: string
  host: string
  port?: number
}

// OpenSSH's valid_hostname/valid_ruser refuse these; orch adds the pattern characters.
const FORBIDDEN = /[\s'`"$\\;&<>|(){}*?!#,\x00-\x1f\x7f]/

/** `host`, `user@host`, `host:port`, `user@host:port`, `[v6addr]:port`, `ssh://user@host:port`. */
export function parseHostSpec(text: string, setting = 'ORCH_HOST'): HostSpec {
  const bad = (why: string) =>
    configError(`invalid ${setting} ${JSON.stringify(text)}: ${why}`, `set ${setting} to a host name, an alias from ~/.ssh/config, user@host, host:port or [v6addr]:port`)
  let rest = text.startsWith('ssh://') ? text.slice(6).replace(/\/$/, '') : text
  if (rest === '') throw bad('it is empty')
  if (FORBIDDEN.test(rest)) throw bad('a host cannot hold spaces or shell characters')
  let user: string | undefined
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    user = rest.slice(0, at)
    rest = rest.slice(at + 1)
    if (user === '' || user.startsWith('-')) throw bad('the user before @ is empty or starts with -')
  }
  let host = rest
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest)
  if (bracketed) {
    host = bracketed[1]!
    portText = bracketed[2]
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    ;[host, portText] = rest.split(':') as [string, string]
  }
  if (host === '' || host.startsWith('-') || host.includes('[') || host.includes(']') || host.includes('/')) throw bad('no host name in it')
  let port: number | undefined
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN
    if (!(port >= 1 && port <= 65535)) throw bad(`"${portText}" is not a port (1-65535)`)
  }
  return {user, host, port}
}

/** `ssh -G` output: lowercase keys, values in order (IdentityFile and the like repeat). */
export function parseSshG(text: string): Map<string, string[]> {
  const options = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ')
    if (space <= 0) continue
    const key = line.slice(0, space).toLowerCase()
    const list = options.get(key) ?? []
    list.push(line.slice(space + 1))
    options.set(key, list)
  }
  return options
}

const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((name) => `~/.ssh/${name}`)

/** The password database's name: USER and LOGNAME may be unset (cron, containers). */
export function localUserName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return userInfo().username
  } catch {
    return env.USER || env.LOGNAME || ''
  }
}

function passwdHome(): string | undefined {
  try {
    return userInfo().homedir
  } catch {
    return undefined
  }
}

function sameDir(a: string, b: string | undefined): boolean {
  if (!b) return false
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return a === b
  }
}

interface Tokens {
  home: string
  localUser: string
  host: string
  user: string
  port: number
  name: string
}

/** `~` and OpenSSH's %-tokens (%d %u %h %r %p %n %l %i %%), as ssh expands them when it connects. */
export function expandTokens(value: string, t: Tokens): string {
  let text = value
  if (text === '~') text = t.home
  else if (text.startsWith('~/')) text = join(t.home, text.slice(2))
  return text.replace(/%([%dhilnpru])/g, (_m, c: string) => {
    switch (c) {
      case '%':
        return '%'
      case 'd':
        return t.home
      case 'h':
        return t.host
      case 'i':
        return String(process.getuid?.() ?? '')
      case 'l':
        return localHostname().split('.')[0] ?? ''
      case 'n':
        return t.name
      case 'p':
        return String(t.port)
      case 'r':
        return t.user
      default:
        return t.localUser
    }
  })
}

/** Runs `ssh -G`; undefined when no ssh binary is installed. */
function sshG(args: string[], binary: string, env: NodeJS.ProcessEnv): Promise<{code: number | null; stdout: string; stderr: string} | undefined> {
  return new Promise((resolve) => {
    // The environment orch resolves with: the ssh PATH finds in it, and the ${VAR}s it expands.
    const child = spawn(binary, args, {stdio: ['ignore', 'pipe', 'pipe'], env})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
    child.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ENOENT' ? undefined : {code: 255, stdout: '', stderr: error.message}))
    child.once('close', (code) => resolve({code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()}))
  })
}

/** Settings orch cannot honour and will not silently ignore. */
const REFUSED: Record<string, (value: string) => string | undefined> = {
  proxyusefdpass: (v) => (v === 'yes' ? 'ProxyUseFdpass yes is not supported: remove it' : undefined),
  pkcs11provider: (v) => (v !== 'none' ? 'PKCS11Provider keys are not supported: use ssh-agent (ssh-add -s) instead' : undefined),
}

/** ORCH_HOST (or a hop) to a connectable target, through `ssh -G` with the ORCH_* overrides. */
export async function resolveSshTarget(spec: string, options: SshResolveOptions): Promise<SshTarget> {
  const env = options.env ?? process.env
  const setting = options.setting ?? 'ORCH_HOST'
  const parsed = parseHostSpec(spec, setting)
  const home = env.HOME || homedir()
  const pwHome = passwdHome()
  const localUser = localUserName(env)
  const user = options.user ?? parsed.user
  const port = options.port ?? parsed.port

  // ssh reads ~ from the password database; orch's home is $HOME. When they differ (a test, sudo -E),
  // the config under $HOME is the one read, with the system-wide file after it as ssh would.
  let configArgs: string[] = []
  let include: string | undefined
  let configFile: string
  if (options.configFile) {
    configFile = options.configFile
    configArgs = ['-F', options.configFile]
  } else if (sameDir(home, pwHome)) {
    configFile = '~/.ssh/config'
  } else {
    configFile = join(home, '.ssh', 'config')
    // Include is refused on the command line and /dev/stdin is a socket under Node: a file it is.
    include = join(tmpdir(), `orch-ssh-config-${process.pid}-${Math.random().toString(36).slice(2)}`)
    configArgs = ['-F', include]
  }
  const question: SshGQuestion = {
    args: [...(user ? ['-l', user] : []), ...(port ? ['-p', String(port)] : []), '--', parsed.host],
    binary: options.sshBinary ?? 'ssh',
    configFiles: options.configFile ? [options.configFile] : [include ? configFile : join(pwHome ?? home, '.ssh', 'config'), SYSTEM_SSH_CONFIG],
    // With -F (ORCH_SSH_CONFIG, or the file that includes both when $HOME is not the passwd home)
    // ssh reads everything as user configuration.
    allUserConfig: options.configFile !== undefined || include !== undefined,
    sshHome: pwHome ?? home,
    env,
  }
  let result: Awaited<ReturnType<typeof sshG>>
  const kept = options.keepSshGIn === undefined ? undefined : keptSshG(options.keepSshGIn, question)
  if (kept !== undefined) {
    result = {code: 0, stdout: kept, stderr: ''}
  } else {
    const inputs = options.keepSshGIn === undefined ? undefined : sshGInputs(question)
    try {
      if (include) await writeFile(include, `Include "${configFile}"\nInclude ${SYSTEM_SSH_CONFIG}\n`, {mode: 0o600})
      result = await sshG(['-G', ...configArgs, ...question.args], question.binary, env)
    } finally {
      if (include) await rm(include, {force: true})
    }
    if (options.keepSshGIn !== undefined && inputs && result?.code === 0) keepSshG(options.keepSshGIn, question, inputs, result.stdout)
  }
  if (result && result.code !== 0) {
    const why = result.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Pseudo-terminal/.test(l))
    throw configError(`${setting} ${JSON.stringify(spec)}: ssh -G ${parsed.host} failed: ${why.join('; ') || `exit ${String(result.code)}`}`, `check ${options.configFile ? `ORCH_SSH_CONFIG (${configFile})` : configFile}`)
  }
  const g = result ? parseSshG(result.stdout) : new Map<string, string[]>()
  const one = (key: string) => g.get(key)?.[0]

  for (const [key, check] of Object.entries(REFUSED)) {
    const value = one(key)
    const why = value === undefined ? undefined : check(value)
    if (why) throw configError(`${setting} ${JSON.stringify(spec)}: ${why}`, `edit the Host block for ${parsed.host} in ${configFile}`)
  }

  const target = {
    host: one('hostname') ?? parsed.host,
    user: user ?? one('user') ?? localUser,
    port: port ?? Number(one('port') ?? 22),
  }
  const tokens: Tokens = {home, localUser, host: target.host, user: target.user, port: target.port, name: parsed.host}
  const expand = (value: string) => expandTokens(value, tokens)
  const none = (value: string | undefined) => value === undefined || value === 'none'

  const listed = g.get('identityfile') ?? []
  const configured = listed.length > 0 && listed.join('\n') !== DEFAULT_IDENTITY_FILES.join('\n')
  // As `ssh -i`: an explicit key and the configured files, not the defaults.
  const files = options.keyPath ? (configured ? listed : []) : listed.length > 0 ? listed : DEFAULT_IDENTITY_FILES
  const keyPaths = files.map(expand)

  const agentValue = one('identityagent')
  let agentSocket: string | null | undefined
  if (agentValue === 'none') agentSocket = null
  else if (agentValue && agentValue !== 'SSH_AUTH_SOCK') agentSocket = agentValue.startsWith('$') ? env[agentValue.slice(1)] || null : expand(agentValue)

  const pwKnown = pwHome ? [join(pwHome, '.ssh', 'known_hosts'), join(pwHome, '.ssh', 'known_hosts2')].join(' ') : ''
  const userKnown = one('userknownhostsfile')
  const configuredKnown = userKnown !== undefined && userKnown !== pwKnown && userKnown !== '~/.ssh/known_hosts ~/.ssh/known_hosts2' ? userKnown.split(/\s+/).filter(Boolean).map(expand) : undefined
  const knownFiles = options.knownHostsPath ? [options.knownHostsPath] : (configuredKnown ?? [options.defaultKnownHostsPath])
  const globalKnown = (one('globalknownhostsfile') ?? '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2').split(/\s+/).filter((p) => p && p !== 'none').map(expand)

  const strict = one('stricthostkeychecking') ?? 'ask'
  // `no`/`off` would also accept a changed key; orch never does, so they count as accept-new.
  const acceptNewHostKey = options.acceptNewHostKey ?? ['accept-new', 'no', 'off', 'false'].includes(strict)

  const connectTimeout = Number(one('connecttimeout'))
  const aliveInterval = Number(one('serveraliveinterval') ?? 0)
  const aliveCount = Number(one('serveralivecountmax') ?? 3)

  const jumpValue = one('proxyjump')
  const proxyJump = options.jump ?? (none(jumpValue) ? undefined : jumpValue!.split(','))
  const commandValue = one('proxycommand')
  const hostKeyAlias = one('hostkeyalias')

  return {
    ...target,
    keyPath: options.keyPath,
    keyPaths,
    identitiesOnly: one('identitiesonly') === 'yes',
    agentSocket,
    passphrase: options.passphrase,
    knownHostsPath: knownFiles[0]!,
    otherKnownHostsPaths: [...knownFiles.slice(1), ...globalKnown],
    acceptNewHostKey,
    hostKeyAlias: none(hostKeyAlias) ? undefined : hostKeyAlias,
    readyTimeoutMs: connectTimeout > 0 ? connectTimeout * 1000 : undefined,
    // orch needs a dead connection noticed: 5 s x 3 unless ServerAliveInterval says otherwise.
    keepaliveIntervalMs: aliveInterval > 0 ? aliveInterval * 1000 : 5000,
    keepaliveCountMax: aliveCount > 0 ? aliveCount : 3,
    proxyJump,
    proxyCommand: proxyJump || none(commandValue) ? undefined : expandTokens(commandValue!.replace(/^~(?=\/)/, home), tokens),
    name: spec,
    configFile: result ? configFile : undefined,
    resolver: options,
  }
}

/** The settings a ProxyJump hop is resolved with: its own config, the same known_hosts policy. */
export function hopOptions(options: SshResolveOptions, jump: string[] | undefined, of: string): SshResolveOptions {
  return {
    configFile: options.configFile,
    passphrase: options.passphrase,
    knownHostsPath: options.knownHostsPath,
    defaultKnownHostsPath: options.defaultKnownHostsPath,
    acceptNewHostKey: options.acceptNewHostKey,
    jump,
    setting: `the ProxyJump hop of ${of}`,
    env: options.env,
    sshBinary: options.sshBinary,
    keepSshGIn: options.keepSshGIn,
  }
}

/** A name nothing in the configuration knows and DNS does not either. */
export function unknownNameError(target: SshTarget): OrchError {
  const name = target.name ?? target.host
  let bare = name
  try {
    bare = parseHostSpec(name).host
  } catch {}
  const alias = bare.toLowerCase() !== target.host.toLowerCase()
  if (alias) return new OrchError('connection', `host name ${target.host} (HostName of ${bare}) not found`, `check the Host ${bare} block in ${target.configFile ?? '~/.ssh/config'}`)
  const read = target.configFile ? `no Host alias in ${target.configFile} either` : 'no ssh binary to read ~/.ssh/config with'
  return new OrchError('connection', `host name ${bare} not found (${read})`, `check ORCH_HOST, or add a "Host ${bare}" block with its HostName`)
}
