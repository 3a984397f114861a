import {defineCommand} from '../../cli/command.js'
import {loadConfig} from '../../config/config.js'
import {formatHostDisconnect} from '../../output/format-host.js'

export default defineCommand({
  id: 'host:disconnect',
  summary: 'Close the connection kept open to the cloud host for the next commands (ORCH_CONTROL_PERSIST)',
  flags: {},
  async run(_parsed, io) {
    const {disconnectHost} = await import('../../sites/sites.js')
    const result = await disconnectHost(loadConfig())
    io.say(() => formatHostDisconnect(result))
    return result
  },
})
