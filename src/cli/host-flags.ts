import {type OrchConfig, loadConfig} from '../config/config.js'
import {flag} from './flags.js'

/** Flags of every command that reaches a host. */
export const hostFlags = {
  'accept-new-host-key': flag.boolean({description: 'accept and record an unknown host key (a changed key is always refused)', helpGroup: 'HOST'}),
}

export const whereFlag = flag.option({
  description: 'only this machine (local) or only the cloud host (cloud); default both',
  options: ['local', 'cloud'] as const,
  helpGroup: 'HOST',
  parse: (text) => text as 'local' | 'cloud',
})

/** Configuration with the host flags every remote command shares applied on top. */
export function configFromFlags(flags: {'accept-new-host-key'?: boolean}): OrchConfig {
  return loadConfig({
    flags: {ORCH_ACCEPT_NEW_HOST_KEY: flags['accept-new-host-key'] ? '1' : undefined},
    flagNames: {ORCH_ACCEPT_NEW_HOST_KEY: '--accept-new-host-key'},
  })
}
