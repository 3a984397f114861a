import type {OrchConfig} from '../config/config.js'
import {parseAmount} from '../config/settings.js'
import {usageError} from '../errors/errors.js'
import {type ApprovalPolicy, approvalFrom} from '../routing/cost.js'
import {flag} from './flags.js'

/** The approval gate's flags of `orch run`. */
export const approvalFlags = {
  'max-cost': flag.option({
    description: 'a job estimated over this (price per hour × --runtime) waits QUEUED on the host for orch approve (default ORCH_MAX_COST)',
    helpGroup: 'GUARDRAILS',
    parse: (text, name) => {
      const amount = parseAmount(text)
      if (amount === undefined) throw usageError(`${name} "${text}" is not an amount`, `give a decimal number in ORCH_CURRENCY, e.g. ${name} 5 or ${name} 2.50`)
      return amount
    },
  }),
  approve: flag.boolean({description: 'approve in advance: start the job whatever its estimated cost', helpGroup: 'GUARDRAILS'}),
}

/** The gate from flags over configuration. */
export function approvalFromFlags(flags: {'max-cost'?: number; approve?: boolean}, config: Pick<OrchConfig, 'maxCost' | 'approval'>): ApprovalPolicy & {approved: boolean} {
  return approvalFrom({maxCost: flags['max-cost'], approved: flags.approve}, config)
}
