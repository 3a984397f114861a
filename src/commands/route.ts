import {Args} from '@oclif/core'

import {OrchCommand, argWords} from '../cli/base-command.js'
import {profileFromFlags, routingFlags} from '../cli/routing-flags.js'
import {loadConfig} from '../config/config.js'
import {formatRoute} from '../output/format-route.js'
import {type RouteResult, route} from '../routing/route.js'

export default class Route extends OrchCommand {
  static override summary = 'Decide where a job should run (cloud or local); runs nothing'
  static override description = `Applies the routing rules: any cloud condition (long runtime, heavy logs, heavy processing, 2+ parallel jobs, large or unknown memory) sends the job to the cloud; it runs locally only when it is short, UI-centric and a lightweight check, or when a local agent asks and nothing forces the cloud. Without flags, the command after -- is used to infer a profile; flags always win.`
  static override examples = [
    '<%= config.bin %> route --runtime 15m',
    '<%= config.bin %> route --runtime 1m --ui --light --json',
    '<%= config.bin %> route --agent Lens',
    '<%= config.bin %> route -- tail -f /var/log/syslog',
  ]
  static override strict = false
  static override args = {command: Args.string({description: 'command (after --) used to infer the profile', required: false})}
  static override flags = {...routingFlags}

  async run(): Promise<RouteResult> {
    const parsed = await this.parse(Route)
    const profile = profileFromFlags(parsed.flags, argWords(parsed))
    const config = loadConfig()
    const result = route(profile, config.thresholds)
    this.say(() => formatRoute(result))
    return result
  }
}
