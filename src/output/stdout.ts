/** Write to stdout, waiting for it to drain: a slow pipe slows the reader, never loses bytes. */
export function writeOut(chunk: Buffer | string): Promise<void> | void {
  if (process.stdout.write(chunk)) return
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()))
}
