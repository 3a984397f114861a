import {readFileSync} from 'node:fs'

/**
 * The POSIX sh that runs on a job's host lives in ./sh/*.sh (copied into dist by the build). Every
 * control script is the job library (job-lib.sh: what a job is, its state, the exit statuses),
 * the prelude and its own body, and receives data only as positional
 * parameters or stdin — never spliced into the text — so a job name, a path or a user's command
 * can never change what a script does.
 *
 * Job directory (<root>/<name>/): meta.json, cmd.sh (the command exactly as typed), env.sh (0600,
 * deleted at the end), cwd, orch-wrapper.sh, pid, started, ended, exit, stopped, run.log, offsets;
 * for a service: reason (why it was last restarted), path (its PATH, for a start at boot),
 * memory-mode (who holds --max-memory, and why), memory-kill, on-boot and boot.log (--on-boot).
 */
const cache = new Map<string, string>()
function load(name: string): string {
  let text = cache.get(name)
  if (text === undefined) {
    text = readFileSync(new URL(`./sh/${name}.sh`, import.meta.url), 'utf8')
    cache.set(name, text)
  }
  return text
}

export type ControlScript = 'start' | 'list' | 'locate' | 'read-log' | 'log-page' | 'stop' | 'has-session' | 'tool' | 'install-tools' | 'job-info' | 'sync' | 'pull' | 'rollback' | 'approve' | 'boot-entry'

export function controlScript(name: ControlScript): string {
  return `${load('job-lib')}\n${load('prelude')}\n${load(name)}`
}

/** The job wrapper, with the job library after its first line (liveness of the queue's head). */
export function wrapperScript(): string {
  const wrapper = load('orch-wrapper')
  const firstLine = wrapper.indexOf('\n') + 1
  return `${wrapper.slice(0, firstLine)}${load('job-lib')}\n${wrapper.slice(firstLine)}`
}

/**
 * Exit statuses of the control scripts: the EX_* table at the top of job-lib.sh, under the same
 * names in camelCase (test/unit/jobs/host-scripts.test.ts fails when the two differ).
 */
export const SCRIPT_STATUS = {
  ok: 0,
  vanished: 3,
  unknownJob: 4,
  shipToCloudwatch: 10,
  tmuxMissing: 64,
  inUse: 65,
  exists: 66,
  sessionFailed: 67,
  noCwd: 68,
  noCommit: 69,
  gitFailed: 70,
  rootUnwritable: 71,
  syncLockBusy: 72,
  syncUnpackFailed: 73,
  syncIncomplete: 74,
  syncPlaceFailed: 75,
  toolMissing: 76,
  notGit: 77,
  processTable: 78,
  noSpace: 79,
  slurmRefused: 80,
  slurmMissing: 81,
  slurmUnreachable: 82,
} as const
