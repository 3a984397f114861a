/**
 * The layer rules of ARCHITECTURE.md, checked on every file under src/: each import (static,
 * `import type`, `export … from`, `import()` and `typeof import()`) must point to the file's own
 * folder or to a lower floor, and no chain of imports may come back to where it started.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import ts from 'typescript'
import {describe, expect, it} from 'vitest'

const SRC = fileURLToPath(new URL('../../src', import.meta.url))

/** Bottom to top. A folder may import its own files and those of any lower floor. */
const FLOORS: readonly (readonly string[])[] = [
  ['errors', 'terminal'],
  ['config'],
  ['routing', 'hosts', 'cloud'],
  ['jobs'],
  ['sync'],
  ['sites'],
  ['output'],
  ['cli', 'commands', 'mcp'],
  ['testing'],
]

/**
 * Folders on one floor that may import each other: the dispatcher spans cli/ and commands/; the MCP
 * server reads the commands' flag declarations from cli/, and `orch mcp` (commands/) starts it.
 */
const SAME_FLOOR_ALLOWED = new Set(['cli>commands', 'commands>cli', 'mcp>cli', 'commands>mcp'])

/** Lower floors a folder must not import all the same: formatters are pure, no spinner, no stdout. */
const FORBIDDEN_BELOW: Readonly<Record<string, readonly string[]>> = {output: ['terminal']}

/** Node modules that do I/O: the formatters in output/ turn values into strings and nothing else. */
const IO_MODULES = /^node:(fs|fs\/promises|child_process|net|tls|http|https|readline|process|os)$/

interface Edge {
  from: string
  to: string
  /** Module specifier as written. */
  spec: string
  dynamic: boolean
  typeOnly: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const parsed = new Map<string, ts.SourceFile>()
const parse = (file: string): ts.SourceFile => {
  let source = parsed.get(file)
  if (!source) parsed.set(file, (source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)))
  return source
}

/** Every module specifier a file names, found in its syntax tree (strings and comments do not count). */
function importsOf(file: string): {specs: Omit<Edge, 'from' | 'to'>[]; unresolvable: string[]} {
  const source = parse(file)
  const specs: Omit<Edge, 'from' | 'to'>[] = []
  const unresolvable: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push({spec: node.moduleSpecifier.text, dynamic: false, typeOnly: node.importClause?.isTypeOnly === true})
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push({spec: node.moduleSpecifier.text, dynamic: false, typeOnly: node.isTypeOnly})
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments
      if (argument && ts.isStringLiteralLike(argument)) specs.push({spec: argument.text, dynamic: true, typeOnly: false})
      else unresolvable.push(`${relative(SRC, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText()}`)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specs.push({spec: node.argument.literal.text, dynamic: false, typeOnly: true})
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return {specs, unresolvable}
}

function readGraph() {
  const files = sourceFiles(SRC).map((file) => relative(SRC, file))
  const edges: Edge[] = []
  const external: Edge[] = []
  const unresolvable: string[] = []
  for (const file of files) {
    const found = importsOf(join(SRC, file))
    unresolvable.push(...found.unresolvable)
    for (const spec of found.specs) {
      if (!spec.spec.startsWith('.')) {
        external.push({...spec, from: file, to: spec.spec})
        continue
      }
      const to = relative(SRC, resolve(SRC, dirname(file), spec.spec)).replace(/\.js$/, '.ts')
      edges.push({...spec, from: file, to})
    }
  }
  return {files, edges, external, unresolvable}
}

const folderOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : '.')
const floorOf = (folder: string): number => FLOORS.findIndex((floor) => floor.includes(folder))

/** Why an import breaks the layer rules, or undefined when it is allowed. */
function layerViolation(from: string, to: string): string | undefined {
  const a = folderOf(from)
  const b = folderOf(to)
  if (floorOf(a) < 0) return `${a}/ is on no floor (add it to ARCHITECTURE.md and FLOORS)`
  if (floorOf(b) < 0) return `${b}/ is on no floor (add it to ARCHITECTURE.md and FLOORS)`
  if (a === b) return undefined
  if (FORBIDDEN_BELOW[a]?.includes(b)) return `${a}/ must not import ${b}/`
  if (floorOf(b) < floorOf(a)) return undefined
  if (floorOf(b) === floorOf(a) && SAME_FLOOR_ALLOWED.has(`${a}>${b}`)) return undefined
  return floorOf(b) === floorOf(a) ? `${a}/ and ${b}/ share a floor and must not import each other` : `${a}/ must not import ${b}/, a higher floor`
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
function cycles(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map(files.map((file) => [file, [] as string[]]))
  for (const edge of edges) next.get(edge.from)?.push(edge.to)
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const connect = (file: string): void => {
    index.set(file, counter)
    low.set(file, counter++)
    stack.push(file)
    onStack.add(file)
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        connect(to)
        low.set(file, Math.min(low.get(file)!, low.get(to)!))
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || next.get(file)?.includes(file)) found.push(component.sort())
  }
  for (const file of files) if (!index.has(file)) connect(file)
  return found
}


/**
 * What a file's top level runs when it is imported: names `process` (reads the environment or the
 * terminal), and, with `noCalls`, calls or constructs anything. Function and class bodies do not count.
 */
function importTimeEffects(file: string, noCalls: boolean): string[] {
  const source = parse(join(SRC, file))
  const found: string[] = []
  const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().split('\n')[0]}`
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return
    if (ts.isIdentifier(node) && node.text === 'process') found.push(at(node))
    if (noCalls && (ts.isCallExpression(node) || ts.isNewExpression(node))) found.push(at(node))
    ts.forEachChild(node, visit)
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) continue
    visit(statement)
  }
  return found
}

const graph = readGraph()
const describeEdge = (edge: Edge) => `${edge.from} -> ${edge.spec}${edge.dynamic ? ' (import())' : ''}${edge.typeOnly ? ' (type)' : ''}`

describe('architecture', () => {
  it('reads the whole tree, dynamic imports included', () => {
    expect(graph.files.length).toBeGreaterThan(50)
    // Known edges of each kind, so a scanner that silently found nothing cannot pass the rules below.
    expect(graph.edges).toContainEqual(expect.objectContaining({from: 'sites/sites.ts', to: 'cloud/resolve-host.ts', dynamic: true}))
    expect(graph.edges).toContainEqual(expect.objectContaining({from: 'jobs/site.ts', to: 'hosts/host.ts', typeOnly: true}))
    expect(graph.external).toContainEqual(expect.objectContaining({from: 'cloud/ec2.ts', to: '@aws-sdk/client-ec2', dynamic: true}))
  })

  it('names every imported module by a string, so no import is hidden from these rules', () => {
    // The one exception: bin/run.js's dispatcher imports commands/<name> by the name typed. It sits
    // on the top floor with the commands, and nothing imports it.
    expect(graph.unresolvable.filter((where) => !where.startsWith('cli/dispatch.ts:'))).toEqual([])
  })

  it('imports only existing files', () => {
    const files = new Set(graph.files)
    expect(graph.edges.filter((edge) => !files.has(edge.to)).map(describeEdge)).toEqual([])
  })

  it('imports only within a floor or downwards (ARCHITECTURE.md)', () => {
    const broken = graph.edges.flatMap((edge) => {
      const why = layerViolation(edge.from, edge.to)
      return why ? [`${describeEdge(edge)}: ${why}`] : []
    })
    expect(broken).toEqual([])
  })

  it('has no import cycles', () => {
    expect(cycles(graph.files, graph.edges)).toEqual([])
  })

  it('keeps the formatters in output/ free of I/O modules', () => {
    const io = graph.external.filter((edge) => folderOf(edge.from) === 'output' && IO_MODULES.test(edge.to))
    expect(io.map(describeEdge)).toEqual([])
  })

  it('reads nothing from the environment or the terminal at import time', () => {
    expect(graph.files.flatMap((file) => importTimeEffects(file, false))).toEqual([])
  })

  it('runs nothing when a formatter module in output/ loads (colour is decided on first use)', () => {
    expect(graph.files.filter((file) => folderOf(file) === 'output').flatMap((file) => importTimeEffects(file, true))).toEqual([])
  })

  it('starts processes only behind hosts/ (one git wrapper, the Host implementations)', () => {
    const spawning = graph.external.filter((edge) => edge.to === 'node:child_process' && !['hosts', 'testing'].includes(folderOf(edge.from)))
    expect(spawning.map(describeEdge)).toEqual([])
  })

  it('runs job scripts only through JobSite, which alone passes the log root and tmux socket', () => {
    const direct = graph.files.filter((file) => file !== 'jobs/site.ts' && /\.host\.(run|stream)\(/.test(readFileSync(join(SRC, file), 'utf8')))
    expect(direct).toEqual([])
  })

  it('loads the AWS SDK only inside cloud/, and only lazily (orch route must never load it)', () => {
    const sdk = graph.external.filter((edge) => edge.to.startsWith('@aws-sdk/') || edge.to.startsWith('@smithy/'))
    const misplaced = sdk.filter((edge) => folderOf(edge.from) !== 'cloud' || (!edge.dynamic && !edge.typeOnly))
    expect(misplaced.map(describeEdge)).toEqual([])
  })

  it('loads the MCP SDK and zod only inside mcp/, and mcp/ only lazily (no other command loads them)', () => {
    const sdk = graph.external.filter((edge) => edge.to.startsWith('@modelcontextprotocol/') || edge.to === 'zod' || edge.to.startsWith('zod/'))
    expect(sdk.length).toBeGreaterThan(0)
    expect(sdk.filter((edge) => folderOf(edge.from) !== 'mcp').map(describeEdge)).toEqual([])
    const intoMcp = graph.edges.filter((edge) => folderOf(edge.to) === 'mcp' && folderOf(edge.from) !== 'mcp')
    expect(intoMcp.map((edge) => ({from: edge.from, to: edge.to, dynamic: edge.dynamic}))).toEqual([{from: 'commands/mcp.ts', to: 'mcp/server.ts', dynamic: true}])
  })
})
