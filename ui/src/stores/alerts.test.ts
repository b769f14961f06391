import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { alertOf, muteKey, useAlerts } from './alerts'

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

describe('the alert rule', () => {
  it.each([
    ['urgent', { popup: true, sound: true }],
    ['warning', { popup: true, sound: false }],
    ['info', { popup: false, sound: false }],
    ['', { popup: false, sound: false }],
    ['something-new', { popup: false, sound: false }],
  ])('level %s', (level, want) => {
    expect(alertOf(level)).toEqual(want)
  })
})

describe('alerts', () => {
  it('sounds for urgent notices only', () => {
    const play = vi.fn()
    const s = useAlerts()
    s.usePlayer(play)
    expect(s.raise('info').popup).toBe(false)
    expect(s.raise('warning').popup).toBe(true)
    expect(play).not.toHaveBeenCalled()
    expect(s.raise('urgent')).toEqual({ popup: true, sound: true })
    expect(play).toHaveBeenCalledTimes(1)
    expect(s.played).toBe(1)
  })

  it('muted, it pops up without a sound, and the choice survives a reload', () => {
    const play = vi.fn()
    const s = useAlerts()
    s.usePlayer(play)
    s.setMuted(true)
    expect(localStorage.getItem(muteKey)).toBe('1')
    expect(s.raise('urgent').popup).toBe(true)
    expect(play).not.toHaveBeenCalled()

    setActivePinia(createPinia())
    const again = useAlerts()
    expect(again.muted).toBe(true)
    again.setMuted(false)
    expect(localStorage.getItem(muteKey)).toBeNull()
  })
})
