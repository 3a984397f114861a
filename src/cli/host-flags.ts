import {Flags} from '@oclif/core'


/** Flags of every command that reaches a host. */
export const hostFlags = {
  'accept-new-host-key': Flags.boolean({description: 'accept and record an unknown host key (a changed key is always refused)', helpGroup: 'HOST'}),
}

export const whereFlag = Flags.string({
  description: 'only this machine (local) or only the cloud host (cloud); default both',
  options: ['local', 'cloud'],
  helpGroup: 'HOST',
})

export {configFromFlags} from './config-from-flags.js'
