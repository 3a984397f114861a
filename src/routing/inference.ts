import type {HeavyKind} from './profile.js'

/**
 * Facts guessed from a command's text when no flag gives them. Each rule names the evidence it
 * matched, so the reason can say why. The first matching rule of each kind wins.
 */
export interface Inferred {
  heavyLogs?: string
  heavyKind?: {kind: HeavyKind; evidence: string}
  longRuntime?: string
  light?: string
  ui?: string
}

interface Rule {
  pattern: RegExp
  evidence: string
}

const HEAVY_LOG_RULES: Rule[] = [
  // `tail` with -f/-F (alone or in a cluster such as -qf) or --follow anywhere among its own words: `tail -n 100 -f x`.
  {pattern: /\btail\s+([^\s|;&]+\s+)*?(-[a-zA-Z]*[fF]|--follow\b)/, evidence: 'tail -f'},
  {pattern: /(^|[;&|(]\s*)watch\s/, evidence: 'watch'},
  {pattern: /\b(npm|pnpm|yarn|bun)\s+(run\s+)?(dev|start|serve|watch)\b/, evidence: 'dev server'},
  {pattern: /\b(next|vite|nuxt|astro)\s+dev\b|\bnodemon\b|\bwebpack(-dev-server|\s+serve)\b/, evidence: 'dev server'},
  {pattern: /\s--watch\b|\btsc\s+(-\w+\s+)*-w\b/, evidence: '--watch'},
  {pattern: /\b(docker|kubectl)\s+logs\s+(.*\s)?-f\b|\bjournalctl\s+(.*\s)?-f\b/, evidence: 'log follow'},
]

const HEAVY_KIND_RULES: Array<Rule & {kind: HeavyKind}> = [
  {pattern: /\b(ollama|vllm|llama[-_.]?cpp|llama-server|text-generation|openai|anthropic|transformers)\b/i, kind: 'llm', evidence: 'LLM tool'},
  {pattern: /\bembed(ding)?s?\b|sentence[-_]transformers/i, kind: 'embedding', evidence: 'embedding'},
  {pattern: /\b(qdrant|milvus|weaviate|pinecone|chroma(db)?|faiss|pgvector)\b/i, kind: 'vectordb', evidence: 'vector database'},
  {pattern: /\b(scrapy|crawl\w*|scrap(e|er|ing)|puppeteer|playwright|wget\s+(-\w+\s+)*-r)\b/i, kind: 'scraping', evidence: 'scraping'},
  {pattern: /\b(aggregat\w*|spark-submit|dbt\s+run)\b/i, kind: 'aggregation', evidence: 'aggregation'},
]

const LONG_RUNTIME_RULES: Rule[] = [
  {pattern: /\bbackfill\w*\b/i, evidence: 'backfill'},
  {pattern: /\b(train(ing)?|fine-?tune)\b|train\.py\b/i, evidence: 'model training'},
  {pattern: /\bdocker\s+build\b|\bcargo\s+build\s+(.*\s)?--release\b|\bbazel\s+build\b/, evidence: 'build'},
]

const LIGHT_RULES: Rule[] = [
  {pattern: /^git\s+(status|log|diff|branch|show|remote)\b/, evidence: 'git query'},
  {pattern: /^(ls|pwd|whoami|date|which|echo|cat|head|wc|df|uname|hostname|env|printenv|true)(\s|$)/, evidence: 'one-off check'},
]

const UI_RULES: Rule[] = [
  {pattern: /^(open|xdg-open)\s/, evidence: 'opens a browser or app'},
  {pattern: /^(code|cursor|idea|subl)(\s|$)/, evidence: 'opens an IDE'},
]

function firstMatch<R extends Rule>(rules: R[], text: string): R | undefined {
  return rules.find((rule) => rule.pattern.test(text))
}

export function inferFromCommand(words: readonly string[]): Inferred {
  const text = words.join(' ').trim()
  if (!text) return {}
  const inferred: Inferred = {}
  const heavyLogs = firstMatch(HEAVY_LOG_RULES, text)
  if (heavyLogs) inferred.heavyLogs = heavyLogs.evidence
  const heavy = firstMatch(HEAVY_KIND_RULES, text)
  if (heavy) inferred.heavyKind = {kind: heavy.kind, evidence: heavy.evidence}
  const long = firstMatch(LONG_RUNTIME_RULES, text)
  if (long) inferred.longRuntime = long.evidence
  // A pipeline or a sequence is not a one-off check, however harmless its first word.
  const single = !/[|;&`$><]|\n/.test(text)
  const light = single ? firstMatch(LIGHT_RULES, text) : undefined
  if (light) inferred.light = light.evidence
  const ui = single ? firstMatch(UI_RULES, text) : undefined
  if (ui) inferred.ui = ui.evidence
  return inferred
}
