import {defineCommand} from '../cli/command.js'
import {arg} from '../cli/flags.js'
import {profileFlags, profileFromFlags} from '../cli/profile-flags.js'
import {loadConfig} from '../config/config.js'
import {routeWithCost} from '../sites/host-price.js'

export default defineCommand({
  id: 'route',
  summary: 'Decide where a job should run (cloud or local); runs nothing',
  description: `Applies the routing rules: any cloud condition (long runtime, heavy logs, heavy processing, 2+ parallel jobs, large or unknown memory) sends the job to the cloud; it runs locally only when it is short, UI-centric and a lightweight check, or when a local agent asks and nothing forces the cloud. Without flags, the command after -- is used to infer a profile; flags always win. With a runtime estimate and the host's price (ORCH_HOURLY_PRICE, or an EC2 host's on-demand price), the answer carries the estimated cost.`,
  examples: [
    '<%= config.bin %> route --runtime 15m',
    '<%= config.bin %> route --runtime 1m --ui --light --json',
    '<%= config.bin %> route --agent Lens',
    '<%= config.bin %> route -- tail -f /var/log/syslog',
  ],
  strict: false,
  args: {command: arg.optional('command (after --) used to infer the profile')},
  flags: profileFlags,
  async run({flags, args, words}, io) {
    const command = args.command === undefined ? [] : [args.command, ...words]
    const config = loadConfig()
    const result = await routeWithCost(config, profileFromFlags(flags, command))
    // The formatter (and its colours) load only for text: under --json nothing of them is needed.
    if (!io.json) {
      const {formatRoute} = await import('../output/format-route.js')
      io.say(() => formatRoute(result))
    }
    return result
  },
})
