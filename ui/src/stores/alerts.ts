// Alerts: which notices pop up and which also sound, and the mute switch.
// The rule goes by the level the server sends with each notice (flows set
// it on every notify and timer: overdue, supervision, extension and hang
// decisions are urgent in the shipped flow), never by a notice's text or
// by names from a flow, so a centre makes a notice loud in configuration.
//
// SMS and phone calls are not the browser's business: the server hands
// urgent notices to channel plugins through the outbox (topic
// notice.relay, see core/outbox), so an alert reaches someone who is not
// signed in too.
import { defineStore } from 'pinia'
import { ref } from 'vue'

export interface Alert {
  popup: boolean
  sound: boolean
}

// alertOf is the rule: urgent pops up and sounds, warning pops up, the
// rest only goes to the bell.
export function alertOf(level: string): Alert {
  switch (level) {
    case 'urgent':
      return { popup: true, sound: true }
    case 'warning':
      return { popup: true, sound: false }
    default:
      return { popup: false, sound: false }
  }
}

export const muteKey = 'hotline.alerts.muted'

// Player plays the alert sound; tone is the real one, tests pass their own.
export type Player = () => void

let audio: AudioContext | null = null

// tone plays two short beeps with the Web Audio API: no sound file to
// ship or cache, and nothing when the browser has no audio.
export const tone: Player = () => {
  const Ctx = globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
  if (!Ctx) return
  try {
    audio ??= new Ctx()
    void audio.resume?.()
    const t0 = audio.currentTime
    for (const [at, freq] of [
      [0, 880],
      [0.22, 1175],
    ] as const) {
      const osc = audio.createOscillator()
      const gain = audio.createGain()
      osc.type = 'sine'
      osc.frequency.value = freq
      // A short ramp in and out: a beep, not a click.
      gain.gain.setValueAtTime(0, t0 + at)
      gain.gain.linearRampToValueAtTime(0.25, t0 + at + 0.02)
      gain.gain.linearRampToValueAtTime(0, t0 + at + 0.18)
      osc.connect(gain).connect(audio.destination)
      osc.start(t0 + at)
      osc.stop(t0 + at + 0.2)
    }
  } catch {
    // No audio device or a browser that refuses: the pop-up still shows.
  }
}

export const useAlerts = defineStore('alerts', () => {
  const muted = ref(localStorage.getItem(muteKey) === '1')
  // played counts the sounds, for the e2e suite to see one was made.
  const played = ref(0)
  let player: Player = tone

  function setMuted(m: boolean) {
    muted.value = m
    if (m) localStorage.setItem(muteKey, '1')
    else localStorage.removeItem(muteKey)
  }

  function usePlayer(p: Player) {
    player = p
  }

  // raise applies the rule to a notice's level: it plays the sound unless
  // muted and says whether to pop up.
  function raise(level: string): Alert {
    const a = alertOf(level)
    if (a.sound && !muted.value) {
      played.value++
      player()
    }
    return a
  }

  return { muted, played, setMuted, usePlayer, raise }
})
