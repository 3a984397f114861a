/**
 * One word for a remote login shell. Always single quotes (a quote becomes '\''): the one form that
 * means the same in sh, bash, zsh, ksh and fish. shell-quote picks double quotes for words holding
 * a quote, whose escapes differ between shells, so it is not used for this.
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

export function shellCommand(words: readonly string[]): string {
  return words.map((word) => shellWord(word)).join(' ')
}
