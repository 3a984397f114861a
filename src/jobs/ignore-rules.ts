/**
 * `.orchignore` patterns, with .gitignore's syntax: `#` comments, `!` re-includes, a trailing `/`
 * matches directories only, a pattern with a `/` before its end is anchored at the top (else it
 * matches a name at any depth), `*`, `?`, `[…]` and `**`. The last matching pattern wins; inside
 * an ignored directory nothing is re-included (as in git).
 */
interface Rule {
  regex: RegExp
  negate: boolean
  dirOnly: boolean
}

export class IgnoreRules {
  private readonly rules: Rule[]

  constructor(text: string) {
    this.rules = text.split(/\r?\n/).flatMap((line) => {
      const rule = parseLine(line)
      return rule ? [rule] : []
    })
  }

  get empty(): boolean {
    return this.rules.length === 0
  }

  /** Whether this one path (`a/b/c`, relative to the top) matches, ignoring its parents. */
  matches(path: string, isDir: boolean): boolean {
    let ignored = false
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue
      if (rule.regex.test(path)) ignored = !rule.negate
    }
    return ignored
  }

  /** Whether the path or any directory above it is ignored. */
  ignores(path: string, isDir: boolean, dirCache = new Map<string, boolean>()): boolean {
    if (this.rules.length === 0) return false
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      let hit = dirCache.get(dir)
      if (hit === undefined) dirCache.set(dir, (hit = this.matches(dir, true)))
      if (hit) return true
    }
    return this.matches(path, isDir)
  }
}

function parseLine(raw: string): Rule | undefined {
  let line = raw
  // Trailing spaces are dropped unless escaped with a backslash.
  line = line.replace(/(?<!\\)\s+$/, '').replace(/\\(\s)$/, '$1')
  if (line === '' || line.startsWith('#')) return undefined
  let negate = false
  if (line.startsWith('!')) {
    negate = true
    line = line.slice(1)
  } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1)
  let dirOnly = false
  if (line.endsWith('/')) {
    dirOnly = true
    line = line.replace(/\/+$/, '')
  }
  if (line === '') return undefined
  const anchored = line.includes('/')
  line = line.replace(/^\/+/, '')
  const body = globToRegex(line)
  const regex = new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`, 's')
  return {regex, negate, dirOnly}
}

function globToRegex(glob: string): string {
  let out = ''
  let i = 0
  while (i < glob.length) {
    const c = glob[i]!
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/'
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/'
        if (atStart && atEnd) {
          if (i + 2 === glob.length) {
            // `dir/**`: everything inside (at least one more component).
            out += '.*'
            i += 2
          } else {
            // `**/` : zero or more directories.
            out += '(?:.*/)?'
            i += 3
          }
          continue
        }
      }
      out += '[^/]*'
      i++
    } else if (c === '?') {
      out += '[^/]'
      i++
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2)
      if (close === -1) {
        out += '\\['
        i++
        continue
      }
      let cls = glob.slice(i + 1, close)
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`
      out += `[${cls.replace(/\\/g, '\\\\')}]`
      i = close + 1
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[i + 1]!)
      i += 2
    } else {
      out += escapeRegex(c)
      i++
    }
  }
  return out
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
