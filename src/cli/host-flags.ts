import {Flags} from '@oclif/core'

import {type OrchConfig, loadConfig} from '../config/config.js'

/** Flags of every command that reaches a host. */
export const hostFlags = {
  'accept-new-host-key': Flags.boolean({description: 'accept and record an unknown host key (a changed key is always refused)', helpGroup: 'HOST'}),
}

export const whereFlag = Flags.string({
  description: 'only this machine (local) or only the cloud host (cloud); default both',
  options: ['local', 'cloud'],
  helpGroup: 'HOST',
})

export function configFromFlags(flags: {'accept-new-host-key'?: boolean}): OrchConfig {
  return loadConfig({
    flags: {ORCH_ACCEPT_NEW_HOST_KEY: flags['accept-new-host-key'] ? '1' : undefined},
    flagNames: {ORCH_ACCEPT_NEW_HOST_KEY: '--accept-new-host-key'},
  })
}
