/**
 * What a test file needs from this machine. A missing tool skips the tests that need it (use the
 * answer with `describe.skipIf`/`it.skipIf`) and the reason is printed once, never silently. Where
 * CI is set (.ci/run sets it, and installs every tool), a missing tool fails the file instead.
 */
import {constants} from 'node:fs'
import {accessSync, statSync} from 'node:fs'
import path from 'node:path'

/** The Debian package that brings each tool. */
const PACKAGES: Record<string, string> = {
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'ssh-agent': 'openssh-client',
  'ssh-add': 'openssh-client',
  tmux: 'tmux',
  shellcheck: 'shellcheck',
  dash: 'dash',
  bash: 'bash',
  busybox: 'busybox',
  pgrep: 'procps',
  zsh: 'zsh',
  fish: 'fish',
  tcsh: 'tcsh',
  useradd: 'passwd',
  runuser: 'util-linux',
  // A Slurm cluster (test/helpers/slurm-cluster.ts): slurm-wlm brings munge and the clients too.
  munged: 'slurm-wlm',
  mungekey: 'slurm-wlm',
  slurmctld: 'slurm-wlm',
  slurmd: 'slurm-wlm',
  sbatch: 'slurm-wlm',
  squeue: 'slurm-wlm',
  scancel: 'slurm-wlm',
  sinfo: 'slurm-wlm',
}

/** What the sandbox sshd and the CLI's jobs need: sshd and its keys, the ssh client, tmux. */
export const SANDBOX_TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'tmux'] as const

/** The absolute path of `name` on PATH or in the sbin directories (where sshd lives), else undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir || !path.isAbsolute(dir)) continue
    const candidate = path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {}
  }
  return undefined
}

/**
 * True when `what` must be skipped because one of `tools` is missing; prints why, with the command
 * that installs them. Throws instead when CI is set.
 */
export function skipWithout(what: string, tools: readonly string[]): boolean {
  const missing = tools.filter((tool) => findTool(tool) === undefined)
  if (missing.length === 0) return false
  const packages = [...new Set(missing.map((tool) => PACKAGES[tool] ?? tool))]
  const why = `${missing.join(', ')} not installed (apt-get install -y ${packages.join(' ')})`
  if (process.env.CI) throw new Error(`cannot run ${what}: ${why}; CI must install it (.ci/run does)`)
  console.warn(`skipping ${what}: ${why}`)
  return true
}
