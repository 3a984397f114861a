import {style} from './style.js'

const STATE_COLOURS = {
  QUEUED: 'yellow',
  STARTING: 'yellow',
  RUNNING: 'cyan',
  DONE: 'green',
  FAILED: 'red',
  STOPPED: 'magenta',
} as const

export function colourState(state: string): string {
  const colour = STATE_COLOURS[state as keyof typeof STATE_COLOURS]
  return colour ? style()[colour](state) : state
}
