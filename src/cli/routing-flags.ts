import {Flags, type Interfaces} from '@oclif/core'

import {PROFILE_FLAG_SPECS} from './profile-flag-specs.js'

/** The job-profile flags shared by `orch route` and `orch run`. */
export const routingFlags = Object.fromEntries(
  Object.entries(PROFILE_FLAG_SPECS).map(([name, spec]) => [
    name,
    spec.type === 'boolean'
      ? Flags.boolean({description: spec.description, helpGroup: 'PROFILE'})
      : Flags.string({description: spec.description, helpGroup: 'PROFILE'}),
  ]),
) as {
  [K in keyof typeof PROFILE_FLAG_SPECS]: (typeof PROFILE_FLAG_SPECS)[K]['type'] extends 'boolean'
    ? Interfaces.BooleanFlag<boolean>
    : Interfaces.OptionFlag<string | undefined>
}

export {profileFromFlags, type RoutingFlagValues} from './routing-flags-parse.js'
