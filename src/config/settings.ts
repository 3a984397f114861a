import {DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize} from './units.js'

/**
 * Every setting orch reads, in one table: its variable, default, accepted form and whether it is
 * a secret. `.env.example` documents the same list (a test keeps the two in step).
 */
export type SettingKind = 'string' | 'port' | 'bool' | 'count' | 'duration' | 'persist' | 'size' | 'tag' | 'choice' | 'amount' | 'currency'

export interface SettingSpec {
  readonly variable: string
  readonly kind: SettingKind
  readonly defaultValue?: string
  readonly secret?: boolean
  readonly choices?: readonly string[]
  readonly description: string
}

export const SETTINGS = [
  {variable: 'ORCH_HOST', kind: 'string', description: 'the cloud host as `ssh NAME` takes it: an alias from ~/.ssh/config, a host name or address, user@host, host:port, [v6addr]:port (or leave empty and set an EC2 instance)'},
  {variable: 'ORCH_SSH_CONFIG', kind: 'string', description: 'OpenSSH client configuration ORCH_HOST is resolved through, like ssh -F (default: ~/.ssh/config and /etc/ssh/ssh_config)'},
  {variable: 'ORCH_USER', kind: 'string', description: 'SSH user on the host (else User from the ssh config, else your local user name)', defaultValue: ''},
  {variable: 'ORCH_PORT', kind: 'port', defaultValue: '22', description: 'SSH port (when set, it wins over Port in the ssh config)'},
  {variable: 'ORCH_SSH_KEY', kind: 'string', description: 'private key file, tried after the ssh-agent\'s keys (else IdentityFile from the ssh config, else ~/.ssh/id_rsa, id_ecdsa, id_ed25519, …)'},
  {variable: 'ORCH_SSH_PASSPHRASE', kind: 'string', secret: true, description: 'passphrase of an encrypted key file (else asked on a terminal)'},
  {variable: 'ORCH_KNOWN_HOSTS', kind: 'string', defaultValue: '~/.ssh/known_hosts', description: 'known_hosts file used to verify the host key (when set, it wins over UserKnownHostsFile)'},
  {variable: 'ORCH_ACCEPT_NEW_HOST_KEY', kind: 'bool', defaultValue: '0', description: 'accept and record an unknown host key (a changed key is always refused; when unset, StrictHostKeyChecking accept-new does the same)'},
  {variable: 'ORCH_CONTROL_PERSIST', kind: 'persist', defaultValue: '10m', description: 'how long a connection to the host stays open, idle, for the next commands (like OpenSSH\'s ControlPersist); 0 or no: every command connects on its own'},
  {variable: 'ORCH_EC2_INSTANCE_ID', kind: 'string', description: 'EC2 instance id of the cloud host, e.g. i-0123456789abcdef0'},
  {variable: 'ORCH_EC2_TAG', kind: 'tag', description: 'or find the instance by tag, as key=value (exactly one instance must match)'},
  {variable: 'ORCH_EC2_USE_PRIVATE_IP', kind: 'bool', defaultValue: '0', description: 'connect to the private IP instead of the public DNS name'},
  {variable: 'AWS_REGION', kind: 'string', description: 'AWS region (else the AWS profile\'s region)'},
  {variable: 'ORCH_CLOUDWATCH_GROUP', kind: 'string', defaultValue: '/orch/jobs', description: 'CloudWatch Logs group for shipped job logs'},
  {variable: 'ORCH_CLOUDWATCH', kind: 'choice', choices: ['always', 'never', 'flag'], defaultValue: 'flag', description: 'ship job logs to CloudWatch: always, never, or only with --cloudwatch'},
  {variable: 'ORCH_SLACK_WEBHOOK_URL', kind: 'string', secret: true, description: 'Slack incoming-webhook URL for job notifications'},
  {variable: 'ORCH_NOTIFY', kind: 'choice', choices: ['slack', 'stdout', 'off'], defaultValue: 'off', description: 'notify when a job ends: slack, stdout or off'},
  {variable: 'ORCH_MAX_PARALLEL', kind: 'count', defaultValue: '4', description: 'jobs running at once per host; more wait as QUEUED'},
  {variable: 'ORCH_LOG_RETENTION_DAYS', kind: 'count', defaultValue: '30', description: 'days a job directory is kept before prune deletes it'},
  {variable: 'ORCH_MAX_LOG_SIZE', kind: 'size', description: 'cap on run.log; past it the oldest part is rotated to run.log.1'},
  {variable: 'ORCH_AUTOSTOP_SHUTDOWN_CMD', kind: 'string', defaultValue: 'sudo shutdown -h now', description: 'what orch host autostop runs on an idle host'},
  {variable: 'ORCH_CRONTAB', kind: 'string', defaultValue: 'crontab', description: 'the crontab command on the host (orch cron and orch host autostop edit the crontab with it)'},
  {variable: 'ORCH_HOST_DIR', kind: 'string', defaultValue: '~/.orch', description: 'orch\'s own directory on the host: its tools for cron (bin/), autostop state'},
  {variable: 'ORCH_LOG_ROOT', kind: 'string', defaultValue: '~/logs', description: 'where job directories live on the cloud host'},
  {variable: 'ORCH_LOCAL_LOG_ROOT', kind: 'string', defaultValue: '~/logs', description: 'where job directories of local jobs live on this machine'},
  {variable: 'ORCH_TMUX_SOCKET', kind: 'string', description: 'tmux server socket name (tmux -L); empty means tmux\'s default server'},
  {variable: 'ORCH_HOURLY_PRICE', kind: 'amount', description: 'price of the cloud host per hour, e.g. 0.192 (else, for an EC2 host, its on-demand price from the AWS Price List)'},
  {variable: 'ORCH_CURRENCY', kind: 'currency', defaultValue: 'USD', description: 'currency of ORCH_HOURLY_PRICE and ORCH_MAX_COST'},
  {variable: 'ORCH_MAX_COST', kind: 'amount', description: 'a cloud job whose estimated cost is over this waits QUEUED on the host until orch approve NAME'},
  {variable: 'ORCH_APPROVAL', kind: 'choice', choices: ['over', 'unknown'], defaultValue: 'over', description: 'which jobs wait for approval: over (estimate over ORCH_MAX_COST), unknown (also those whose cost cannot be estimated)'},
  {variable: 'ORCH_SCHEDULER', kind: 'choice', choices: ['tmux', 'slurm'], defaultValue: 'tmux', description: 'how jobs run on ORCH_HOST: tmux (a detached session on the host) or slurm (ORCH_HOST is a Slurm login node; each job is one sbatch batch job)'},
  {variable: 'ORCH_SLURM_PARTITION', kind: 'string', description: 'Slurm partition for jobs (sbatch --partition; else the cluster\'s default)'},
  {variable: 'ORCH_SLURM_ACCOUNT', kind: 'string', description: 'Slurm account jobs are charged to (sbatch --account)'},
  {variable: 'ORCH_SLURM_OPTS', kind: 'string', description: 'more sbatch options for every Slurm job, space-separated, e.g. --qos=long --constraint=gpu80g (after orch\'s own: they win)'},
  {variable: 'ORCH_LOCAL_MAX_RUNTIME', kind: 'duration', defaultValue: '3m', description: 'routing: longest runtime that may still run locally'},
  {variable: 'ORCH_CLOUD_MIN_RUNTIME', kind: 'duration', defaultValue: '10m', description: 'routing: runtime above which a job must run in the cloud'},
  {variable: 'ORCH_CLOUD_MEMORY', kind: 'size', defaultValue: '8G', description: 'routing: memory above which a job must run in the cloud'},
] as const satisfies readonly SettingSpec[]

export type SettingName = (typeof SETTINGS)[number]['variable']

export const SECRET_SETTINGS: ReadonlySet<string> = new Set(
  SETTINGS.filter((s): s is Extract<(typeof SETTINGS)[number], {secret: true}> => 'secret' in s && s.secret).map((s) => s.variable),
)

const FORMS: Record<SettingKind, string> = {
  string: 'any text',
  port: 'a port number from 1 to 65535',
  bool: '1, 0, true, false, yes or no',
  count: 'a whole number of at least 1',
  duration: DURATION_FORMS,
  persist: `${DURATION_FORMS}; or 0 / no (off)`,
  size: SIZE_FORMS.replace(' (or "unknown")', ''),
  tag: 'key=value',
  choice: 'one of the listed choices',
  amount: 'a decimal number of at least 0, e.g. 0.192',
  currency: 'a currency code of 3 letters, e.g. USD, EUR',
}

export type ParsedValue = string | number | boolean | {key: string; value: string}

/** A money amount as typed (0.192, 10, 1.5e1 refused): a plain decimal number of at least 0, else undefined. */
export function parseAmount(text: string): number | undefined {
  return /^\d+(\.\d+)?$|^\.\d+$/.test(text.trim()) ? Number(text.trim()) : undefined
}

/** The typed value of a setting's text, or an explanation of the accepted form. */
export function parseSetting(spec: SettingSpec, raw: string): {ok: true; value: ParsedValue} | {ok: false; form: string} {
  const text = raw.trim()
  switch (spec.kind) {
    case 'string':
      return {ok: true, value: text}
    case 'port': {
      const n = Number(text)
      return /^\d+$/.test(text) && n >= 1 && n <= 65_535 ? {ok: true, value: n} : {ok: false, form: FORMS.port}
    }
    case 'bool': {
      const lower = text.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(lower)) return {ok: true, value: true}
      if (['0', 'false', 'no', 'off', ''].includes(lower)) return {ok: true, value: false}
      return {ok: false, form: FORMS.bool}
    }
    case 'count': {
      const n = Number(text)
      return /^\d+$/.test(text) && n >= 1 ? {ok: true, value: n} : {ok: false, form: FORMS.count}
    }
    case 'duration': {
      const ms = parseDuration(text)
      return ms === undefined ? {ok: false, form: FORMS.duration} : {ok: true, value: ms}
    }
    case 'persist': {
      if (['0', 'no', 'off', 'false'].includes(text.toLowerCase())) return {ok: true, value: 0}
      const ms = parseDuration(text)
      return ms === undefined ? {ok: false, form: FORMS.persist} : {ok: true, value: ms}
    }
    case 'size': {
      const size = parseSize(text)
      return size === undefined ? {ok: false, form: FORMS.size} : {ok: true, value: size}
    }
    case 'tag': {
      const eq = text.indexOf('=')
      return eq > 0 ? {ok: true, value: {key: text.slice(0, eq), value: text.slice(eq + 1)}} : {ok: false, form: FORMS.tag}
    }
    case 'amount': {
      const amount = parseAmount(text)
      return amount === undefined ? {ok: false, form: FORMS.amount} : {ok: true, value: amount}
    }
    case 'currency':
      return /^[A-Za-z]{3}$/.test(text) ? {ok: true, value: text.toUpperCase()} : {ok: false, form: FORMS.currency}
    case 'choice':
      return spec.choices?.includes(text.toLowerCase())
        ? {ok: true, value: text.toLowerCase()}
        : {ok: false, form: `one of ${spec.choices?.join(', ')}`}
  }
}
