/**
 * The agent skill's references (skills/orch/references/) are generated from the command manifest
 * and the JSON schemas by scripts/skill-references.mjs; this fails when a command, a flag, a tool
 * or a JSON field changed and they were not regenerated (`npm run skill`). Needs a build.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {renderReferences, staleReferences} from '../../scripts/skill-references.mjs'

const SKILL = fileURLToPath(new URL('../../skills/orch/SKILL.md', import.meta.url))

describe('the orch agent skill', () => {
  it('has references generated from the current manifest and schemas (npm run skill)', async () => {
    expect(await staleReferences()).toEqual([])
  })

  it('names every reference it has, and every MCP tool', async () => {
    const skill = readFileSync(SKILL, 'utf8')
    const references = Object.keys(await renderReferences())
    for (const name of references) expect(skill).toContain(`references/${name}`)
    for (const tool of ['route', 'run', 'status', 'list', 'logs', 'stop']) expect(skill).toContain(`\`${tool}\``)
    expect(skill).toMatch(/^---\nname: orch\ndescription: .+\n---\n/)
  })
})
