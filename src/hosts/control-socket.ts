/**
 * Where a connection holder's Unix socket lives, and its name.
 *
 * The directory is the user's own and private: `$XDG_RUNTIME_DIR/orch` when that is set, else
 * `~/.orch/cm`; made 0700 when missing, refused when it is not a directory, not owned by this
 * user, or open to others (then nothing is reused). The name is a hash of everything that decides
 * where a connection goes and as whom (OpenSSH's %C, with more in it): address, port, user, keys,
 * agent, known_hosts files, host-key alias, jump hosts, proxy command, config file, and the
 * protocol version, so a connection is only ever reused for the same destination and credentials.
 * A path too long for a Unix socket (108 bytes with its NUL) moves to a short private directory
 * under the system's temp dir, keeping the same hashed name.
 */
import {createHash} from 'node:crypto'
import {lstatSync, mkdirSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {isAbsolute, join} from 'node:path'

import {PROTOCOL_VERSION} from './holder-protocol.js'
import type {SshTarget} from './ssh-config.js'

/** sockaddr_un's sun_path is 108 bytes, NUL included; OpenSSH keeps below that too. */
const MAX_SOCKET_PATH = 104

/** The fields of a target that name its connection; `agent` is the agent socket actually used. */
export function controlKey(target: SshTarget, env: NodeJS.ProcessEnv = process.env): string {
  const agent = target.agentSocket === undefined ? env.SSH_AUTH_SOCK || null : target.agentSocket
  const key = {
    v: PROTOCOL_VERSION,
    host: target.host,
    port: target.port,
    user: target.user,
    keyPath: target.keyPath ?? null,
    keyPaths: target.keyPaths ?? [],
    identitiesOnly: target.identitiesOnly ?? false,
    agent,
    knownHosts: [target.knownHostsPath, ...(target.otherKnownHostsPaths ?? [])],
    hostKeyAlias: target.hostKeyAlias ?? null,
    proxyJump: target.proxyJump ?? null,
    proxyCommand: target.proxyCommand ?? null,
    configFile: target.resolver?.configFile ?? target.configFile ?? null,
  }
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32)
}

export type ControlDir = {ok: true; dir: string} | {ok: false; why: string}

/** The directory when it is private to this user (made so when missing), else why not. */
export function privateDir(dir: string): ControlDir {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  } catch (error) {
    return {ok: false, why: `cannot make ${dir}: ${(error as Error).message}`}
  }
  let stat
  try {
    stat = lstatSync(dir)
  } catch (error) {
    return {ok: false, why: `cannot read ${dir}: ${(error as Error).message}`}
  }
  const uid = process.getuid?.()
  if (!stat.isDirectory()) return {ok: false, why: `${dir} is not a directory`}
  if (uid !== undefined && stat.uid !== uid) return {ok: false, why: `${dir} belongs to uid ${stat.uid}, not to you`}
  if ((stat.mode & 0o077) !== 0) return {ok: false, why: `${dir} is open to others (mode ${(stat.mode & 0o777).toString(8)}; chmod 700 it)`}
  return {ok: true, dir}
}

/** Where the holders' sockets go ($XDG_RUNTIME_DIR/orch, else ~/.orch/cm), before any length fallback. */
function controlBase(env: NodeJS.ProcessEnv): string {
  const runtime = env.XDG_RUNTIME_DIR
  return runtime && isAbsolute(runtime) ? join(runtime, 'orch') : join(env.HOME || homedir(), '.orch', 'cm')
}

/** The private folder of the holders' sockets, for what else is kept between commands (ssh -G's answers); undefined when it is not private. */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const checked = privateDir(controlBase(env))
  return checked.ok ? checked.dir : undefined
}

/** The socket path for a control key: checked directory, short enough. */
export function controlSocketPath(key: string, env: NodeJS.ProcessEnv = process.env): {ok: true; path: string} | {ok: false; why: string} {
  const base = controlBase(env)
  const name = `${key}.sock`
  const full = join(base, name)
  const dir = Buffer.byteLength(full) <= MAX_SOCKET_PATH ? base : join(tmpdir(), `orch-cm-${process.getuid?.() ?? 'user'}`)
  const checked = privateDir(dir)
  if (!checked.ok) return checked
  const path = join(dir, name)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return {ok: false, why: `${path} is too long for a Unix socket`}
  return {ok: true, path}
}

/** Whether `path` is a socket of this user's (a holder may be listening on it). */
export function socketIsOurs(path: string): boolean {
  try {
    const stat = lstatSync(path)
    return stat.isSocket() && (process.getuid === undefined || stat.uid === process.getuid())
  } catch {
    return false
  }
}
