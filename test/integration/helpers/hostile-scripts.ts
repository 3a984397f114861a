/** The hostile-command corpus: scripts that must reach the host's /bin/sh byte for byte. */
export interface ScriptCase {
  name: string
  script: string
  /** What the job prints (run.log minus the [EXIT: 0] line). */
  output: string
}

const TAB = '\t'

/** Single-argument scripts whose bytes every shell on the way could bend; `remoteHome` is $HOME on the host. */
export function hostileScripts(remoteHome: string): ScriptCase[] {
  const scriptCases: ScriptCase[] = [
  {name: 'quotes', script: `echo 'single quoted' "double \\"quoted\\"" it\\'s "'inner'" '"inner"'`, output: `single quoted double "quoted" it's 'inner' "inner"\n`},
  {name: 'dollar-home', script: 'echo "$HOME" $HOME \'$HOME\'', output: `${remoteHome} ${remoteHome} $HOME\n`},
  {name: 'backticks', script: 'echo `echo back` $(echo dollar-paren) "`printf q`"', output: 'back dollar-paren q\n'},
  {name: 'pipes', script: "printf 'a\\nb\\nc\\n' | sort -r | tr a-z A-Z", output: 'C\nB\nA\n'},
  {name: 'semicolons-and', script: 'echo one; echo two && echo three || echo never; false || echo four', output: 'one\ntwo\nthree\nfour\n'},
  {name: 'newlines', script: 'echo first\n\n  echo "second line"\necho \'multi\nline string\'\n', output: 'first\nsecond line\nmulti\nline string\n'},
  {name: 'tabs', script: `printf '%s|\\n' "a${TAB}b"${TAB};${TAB}echo${TAB}tab-separated`, output: `a${TAB}b|\ntab-separated\n`},
  {name: 'utf8', script: "echo '日本語のテキスト 🚀🎉 héllo ñ'; printf '%s\\n' 絵文字😀", output: '日本語のテキスト 🚀🎉 héllo ñ\n絵文字😀\n'},
  {name: 'leading-dash', script: '-x 2>/dev/null; echo "dash $?"', output: 'dash 127\n'},
  {name: 'leading-dashes', script: '--help 2>/dev/null || echo ran-as-a-command', output: 'ran-as-a-command\n'},
  {name: 'backslashes', script: "echo 'C:\\path\\to\\n' \"x\\\\y\" z\\ w\\\\", output: 'C:\\path\\to\\n x\\y z w\\\n'},
  {name: 'percent', script: "printf '100%% done %s\\n' '%d%s%%'", output: '100% done %d%s%%\n'},
  {name: 'bang', script: 'echo "wow!" \'bang!!\' !x; echo !!', output: 'wow! bang!! !x\n!!\n'},
  {name: 'globs-stay-remote', script: 'cd / && echo "[*]" && echo /bin/s[h]', output: '[*]\n/bin/sh\n'},
  {name: 'no-trailing-newline', script: 'echo end', output: 'end\n'},
  {name: 'heredoc', script: "cat <<'EOF'\n$HOME `x` \\n 'q' \"d\"\nEOF\ncat <<EOF\n$((6 * 7))\nEOF\n", output: "$HOME `x` \\n 'q' \"d\"\n42\n"},
  {name: 'self-cat', script: "# 'single' \"double\" `back` $HOME $(x) \\ % ! ; && | > < * ? ~ 日本語 🎉\t<tab\ncat \"$0\"\n", output: ''},
]
  scriptCases.find((c) => c.name === 'self-cat')!.output = scriptCases.find((c) => c.name === 'self-cat')!.script
  return scriptCases
}
