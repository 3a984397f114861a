import {guardStdout} from '../terminal/stdout.js'
import type {OrchCommandClass} from './command.js'
import {runCommand} from './command.js'

/**
 * What a command's bundle (dist/fast/commands/<path>.cjs) runs: the one module graph of that
 * command, with its own copy of the stdout guard, so the guard it installs is the one its commands
 * consult.
 */
export function runBundled(command: OrchCommandClass, argv: readonly string[]): Promise<void> {
  guardStdout()
  return runCommand(command.spec, argv)
}
