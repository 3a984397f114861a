import {style} from './style.js'

const STATE_COLOURS: Record<string, (text: string) => string> = {
  QUEUED: style.yellow,
  STARTING: style.yellow,
  RUNNING: style.cyan,
  DONE: style.green,
  FAILED: style.red,
  STOPPED: style.magenta,
}

export const colourState = (state: string) => (STATE_COLOURS[state] ?? ((s: string) => s))(state)
