import {type OrchConfig, loadConfig} from '../config/config.js'

/** Configuration with the host flags every remote command shares applied on top. */
export function configFromFlags(flags: {'accept-new-host-key'?: boolean}): OrchConfig {
  return loadConfig({
    flags: {ORCH_ACCEPT_NEW_HOST_KEY: flags['accept-new-host-key'] ? '1' : undefined},
    flagNames: {ORCH_ACCEPT_NEW_HOST_KEY: '--accept-new-host-key'},
  })
}
