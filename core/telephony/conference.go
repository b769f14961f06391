package telephony

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// sideSupervisor is the third party of a supervised call, after
// sideCaller and sideAgent.
const sideSupervisor = 2

// Monitor modes of a supervisor on a call (T-9).
const (
	// ModeListen: the supervisor hears both; nobody hears the supervisor
	// (监听).
	ModeListen = "listen"
	// ModeWhisper: the agent hears the supervisor, the citizen does not
	// (耳语、辅导).
	ModeWhisper = "whisper"
	// ModeBarge: all three hear each other (强插).
	ModeBarge = "barge"
)

// Modes lists the monitor modes.
var Modes = []string{ModeListen, ModeWhisper, ModeBarge}

const (
	frameSamples = 160  // 20 ms at 8 kHz
	maxBacklog   = 3200 // 400 ms: older audio of a party is dropped
)

// hears says whether listener hears speaker in mode.
func hears(mode string, listener, speaker int) bool {
	switch {
	case listener == speaker:
		return false
	case listener == sideSupervisor:
		return true
	case speaker != sideSupervisor:
		return true // the citizen and the agent always hear each other
	case mode == ModeBarge:
		return true
	default:
		return mode == ModeWhisper && listener == sideAgent
	}
}

// confOut is where one party's mix goes.
type confOut struct {
	w     io.Writer
	codec uint8
}

// conference mixes the audio of a call a supervisor joined: every 20 ms
// each party gets the sum of what it hears. A plain bridge copies packets
// from leg to leg; mixing needs a clock, so it only runs while someone
// supervises.
type conference struct {
	mu   sync.Mutex
	mode string
	in   [3][]int16
	out  [3]confOut
	pcm  []byte
}

func newConference(mode string, outs [3]confOut) *conference {
	return &conference{mode: mode, out: outs}
}

func (m *conference) setMode(mode string) {
	m.mu.Lock()
	m.mode = mode
	m.mu.Unlock()
}

// push adds a party's RTP payload.
func (m *conference) push(party int, pt uint8, payload []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pcm, err := decodeG711(&m.pcm, pt, payload)
	if err != nil || pcm == nil {
		return
	}
	for i := 0; i+1 < len(pcm); i += 2 {
		m.in[party] = append(m.in[party], int16(binary.LittleEndian.Uint16(pcm[i:])))
	}
	if over := len(m.in[party]) - maxBacklog; over > 0 {
		m.in[party] = append(m.in[party][:0], m.in[party][over:]...)
	}
}

// frames takes the next 20 ms of every party (silence where a party sent
// nothing) and the mode they are mixed in.
func (m *conference) frames() ([3][frameSamples]int16, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var f [3][frameSamples]int16
	for p := range m.in {
		n := copy(f[p][:], m.in[p])
		m.in[p] = append(m.in[p][:0], m.in[p][n:]...)
	}
	return f, m.mode
}

// mix is what listener hears of the frames in mode, as 16-bit PCM.
func mix(f *[3][frameSamples]int16, mode string, listener int) []byte {
	out := make([]byte, 2*frameSamples)
	for i := range frameSamples {
		sum := 0
		for speaker := range f {
			if hears(mode, listener, speaker) {
				sum += int(f[speaker][i])
			}
		}
		sum = max(-32768, min(32767, sum))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(int16(sum)))
	}
	return out
}

// tick sends every party its next 20 ms.
func (m *conference) tick() {
	f, mode := m.frames()
	enc := make([]byte, frameSamples)
	for listener, o := range m.out {
		if o.w == nil {
			continue
		}
		if _, err := encodeG711(enc, o.codec, mix(&f, mode, listener)); err == nil {
			_, _ = o.w.Write(enc)
		}
	}
}

// run ticks every 20 ms until ctx ends.
func (m *conference) run(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.tick()
		}
	}
}
