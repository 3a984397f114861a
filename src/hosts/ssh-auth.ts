/**
 * Public-key authentication in OpenSSH's order, through ssh2's authHandler: the agent's keys
 * (SSH_AUTH_SOCK or IdentityAgent; with IdentitiesOnly only those whose public half is a configured
 * file's), then the key files (ORCH_SSH_KEY, IdentityFile…, else OpenSSH's defaults). A key file is
 * read only when its turn comes; an encrypted one the agent holds was already tried through the
 * agent; another asks for its passphrase on a terminal (ORCH_SSH_PASSPHRASE otherwise).
 */
import {readFile} from 'node:fs/promises'
import type {AnyAuthMethod, AuthHandlerMiddleware, BaseAgent, NextAuthHandler, ParsedKey} from 'ssh2'

import {OrchError} from '../errors/errors.js'
import {registerSecret} from '../errors/redact.js'
import type {SshTarget} from './ssh-config.js'

type Ssh2 = typeof import('ssh2')

export interface AuthRecord {
  agentSocket?: string
  agentKeys: number
  /** Key files offered, in order. */
  files: string[]
  /** Key files passed over, with why (never a secret). */
  skipped: string[]
}

export interface Authenticator {
  handler: AuthHandlerMiddleware
  record: AuthRecord
}

export interface AuthIo {
  /** One line for stderr (a skipped agent). */
  note(line: string): void
  /** Asks for a passphrase on the terminal; undefined when there is none. */
  askPassphrase(path: string): Promise<string | undefined>
}

function agentIdentities(agent: BaseAgent): Promise<ParsedKey[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)
    agent.getIdentities((error, keys) => {
      clearTimeout(timer)
      if (error) reject(error)
      else resolve((keys ?? []) as ParsedKey[])
    })
  })
}

async function publicBlob(path: string, ssh2: Ssh2): Promise<Buffer | undefined> {
  try {
    const text = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/)[1]
    if (text) return Buffer.from(text, 'base64')
  } catch {}
  try {
    const parsed = ssh2.utils.parseKey(await readFile(path))
    if (!(parsed instanceof Error)) return (Array.isArray(parsed) ? parsed[0] : parsed)?.getPublicSSH()
  } catch {}
  return undefined
}

function isEncryptedError(error: Error): boolean {
  return /passphrase|encrypted|decrypt/i.test(error.message)
}

const notedAgents = new Set<string>()

export async function authenticator(target: SshTarget, ssh2: Ssh2, io: AuthIo): Promise<Authenticator> {
  const username = target.user
  const files = [...new Set([...(target.keyPath ? [target.keyPath] : []), ...(target.keyPaths ?? [])])]
  const record: AuthRecord = {agentKeys: 0, files: [], skipped: []}

  if (target.keyPath) {
    try {
      await readFile(target.keyPath)
    } catch {
      throw new OrchError('config', `cannot read the SSH key ${target.keyPath}`, 'check ORCH_SSH_KEY and the file\'s permissions')
    }
  }

  const socket = target.agentSocket === undefined ? process.env.SSH_AUTH_SOCK || undefined : (target.agentSocket ?? undefined)
  let agentKeys: ParsedKey[] = []
  let agent: BaseAgent | undefined
  if (socket) {
    const real = new ssh2.OpenSSHAgent(socket)
    try {
      agentKeys = await agentIdentities(real)
      agent = real
      record.agentSocket = socket
    } catch (error) {
      // Once per command, however many hops ask.
      if (!notedAgents.has(socket)) io.note(`orch: note: the ssh-agent at ${socket} does not answer (${(error as Error).message}); trying key files only`)
      notedAgents.add(socket)
    }
  }
  const blobs = new Map<string, Buffer | undefined>()
  for (const file of files) blobs.set(file, await publicBlob(file, ssh2))
  if (agent && target.identitiesOnly) {
    const wanted = [...blobs.values()].filter((b): b is Buffer => b !== undefined)
    agentKeys = agentKeys.filter((key) => wanted.some((blob) => blob.equals(key.getPublicSSH())))
  }
  record.agentKeys = agentKeys.length
  const inAgent = (file: string) => {
    const blob = blobs.get(file)
    return blob !== undefined && agentKeys.some((key) => blob.equals(key.getPublicSSH()))
  }

  const steps: (() => Promise<AnyAuthMethod | undefined>)[] = []
  if (agent && agentKeys.length > 0) {
    const inner = agent
    const listed = agentKeys
    // The agent as ssh2 sees it: only the keys chosen above.
    class ListedAgent extends ssh2.BaseAgent {
      getIdentities(cb: (error?: Error | null, keys?: ParsedKey[]) => void): void {
        cb(null, listed)
      }
      sign(...args: unknown[]): void {
        ;(inner.sign as (...a: unknown[]) => void).apply(inner, args)
      }
    }
    steps.push(async () => ({type: 'agent', username, agent: new ListedAgent()}))
  }
  for (const file of files) {
    steps.push(async () => {
      let data: Buffer
      try {
        data = await readFile(file)
      } catch {
        return undefined // OpenSSH passes over a missing identity file too
      }
      let parsed = ssh2.utils.parseKey(data)
      let passphrase: string | undefined
      if (parsed instanceof Error && isEncryptedError(parsed)) {
        if (inAgent(file)) {
          record.skipped.push(`${file} (encrypted; its key in the agent was tried)`)
          return undefined
        }
        passphrase = target.passphrase ?? (await io.askPassphrase(file))
        if (passphrase === undefined) {
          record.skipped.push(`${file} (encrypted: set ORCH_SSH_PASSPHRASE or ssh-add it)`)
          return undefined
        }
        registerSecret(passphrase)
        parsed = ssh2.utils.parseKey(data, passphrase)
        if (parsed instanceof Error) {
          record.skipped.push(`${file} (wrong passphrase)`)
          return undefined
        }
      }
      if (parsed instanceof Error) {
        record.skipped.push(`${file} (${parsed.message})`)
        return undefined
      }
      record.files.push(file)
      return {type: 'publickey', username, key: data, passphrase}
    })
  }

  let next = 0
  const handler: AuthHandlerMiddleware = (_methodsLeft, _partial, callback: NextAuthHandler) => {
    // ssh2 takes `false` for "nothing left to try", which its types leave out.
    const done = callback as unknown as (auth: AnyAuthMethod | false) => void
    void (async () => {
      while (next < steps.length) {
        const step = await steps[next++]!()
        if (step) return step
      }
      return false as const
    })().then(
      (auth) => done(auth),
      () => done(false),
    )
  }
  return {handler, record}
}

/** What an authentication failure says was tried: agent: N keys; files: paths. */
export function describeTried(record: AuthRecord): string {
  const parts = [record.agentSocket ? `agent: ${record.agentKeys} key${record.agentKeys === 1 ? '' : 's'}` : 'agent: none']
  parts.push(record.files.length > 0 ? `files: ${record.files.join(', ')}` : 'files: none found')
  if (record.skipped.length > 0) parts.push(`passed over: ${record.skipped.join(', ')}`)
  return parts.join('; ')
}
