import { describe, expect, it } from 'vitest'
import { usePaged } from './paged'
import { GqlError } from './client'

describe('usePaged', () => {
  it('appends pages and resets', async () => {
    const pages: Record<string, { nodes: number[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }> = {
      first: { nodes: [1, 2], pageInfo: { endCursor: 'c2', hasNextPage: true } },
      c2: { nodes: [3], pageInfo: { endCursor: 'c3', hasNextPage: false } },
    }
    const p = usePaged<number>(async (after) => pages[after ?? 'first'])
    await p.load()
    expect(p.rows.value).toEqual([1, 2])
    expect(p.more.value).toBe(true)
    await p.load(false)
    expect(p.rows.value).toEqual([1, 2, 3])
    expect(p.more.value).toBe(false)
    await p.load()
    expect(p.rows.value).toEqual([1, 2])
  })

  it('keeps the answer of the last load when an earlier one ends later', async () => {
    let release: (() => void) | undefined
    let calls = 0
    const p = usePaged<string>(async () => {
      calls++
      if (calls === 1) {
        await new Promise<void>((r) => (release = r))
        return { nodes: ['stale'], pageInfo: { endCursor: null, hasNextPage: false } }
      }
      return { nodes: ['fresh'], pageInfo: { endCursor: null, hasNextPage: false } }
    })
    const slow = p.load()
    await p.load()
    release?.()
    await slow
    expect(p.rows.value).toEqual(['fresh'])
    expect(p.loading.value).toBe(false)
  })

  it('shows the server message of a failure', async () => {
    const p = usePaged<number>(async () => {
      throw new GqlError('FORBIDDEN', '没有权限')
    })
    await p.load()
    expect(p.error.value).toBe('没有权限')
    expect(p.loading.value).toBe(false)
  })
})
