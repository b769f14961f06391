import { describe, expect, it } from 'vitest'
import { fileName } from './client'

describe('download file names', () => {
  it('prefers the UTF-8 name of Content-Disposition', () => {
    expect(fileName(`attachment; filename="export.xlsx"; filename*=UTF-8''%E5%B7%A5%E5%8D%95.xlsx`)).toBe('工单.xlsx')
  })
  it('falls back to the plain name, then to nothing', () => {
    expect(fileName('attachment; filename="export.csv"')).toBe('export.csv')
    expect(fileName(`attachment; filename*=UTF-8''%E0%A4%A`)).toBe('')
    expect(fileName(null)).toBe('')
  })
})
