/**
 * A spinner on stderr while orch connects or starts something. Silent when stderr is not a
 * terminal, so scripts and agents see only the result.
 */
export interface Progress {
  update(text: string): void
  stop(): void
}

export const silentProgress: Progress = {update() {}, stop() {}}

export async function startProgress(text: string, enabled = Boolean(process.stderr.isTTY)): Promise<Progress> {
  if (!enabled) return silentProgress
  const {default: ora} = await import('ora')
  const spinner = ora({text, stream: process.stderr, discardStdin: false}).start()
  return {
    update: (next) => void (spinner.text = next),
    stop: () => void spinner.stop(),
  }
}
