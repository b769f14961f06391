package telephony

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frame is 20 ms of µ-law audio of one sample value.
func frame(t *testing.T, v int16) []byte {
	pcm := make([]byte, 320)
	for i := 0; i < len(pcm); i += 2 {
		binary.LittleEndian.PutUint16(pcm[i:], uint16(v))
	}
	out := make([]byte, 160)
	_, err := audio.EncodeUlawTo(out, pcm)
	require.NoError(t, err)
	return out
}

func TestStereoRecorderKeepsSidesApartAndFillsSilence(t *testing.T) {
	r, err := newStereoRecorder(recordings{spool: t.TempDir()}, "call-1")
	require.NoError(t, err)
	ulaw := media.CodecAudioUlaw.PayloadType
	// The caller talks for 1 s; the agent's phone sends only its first
	// 100 ms, then nothing (silence suppression).
	for i := range 50 {
		r.write(sideCaller, ulaw, frame(t, 8000))
		if i < 5 {
			r.write(sideAgent, ulaw, frame(t, -4000))
		}
	}
	// Another 500 ms pass with no packet at all.
	r.started = r.started.Add(-1500 * time.Millisecond)
	path, size, err := r.close()
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), size)
	pcm := data[44:]
	frames := len(pcm) / 4
	assert.InDelta(t, 12000, frames, 800, "the recording lasts as long as the call by the clock")
	at := func(i, ch int) int16 { return int16(binary.LittleEndian.Uint16(pcm[4*i+2*ch:])) }
	assert.InDelta(t, 8000, at(100, sideCaller), 300, "the caller is on the left")
	assert.InDelta(t, -4000, at(100, sideAgent), 300, "the agent is on the right")
	assert.Equal(t, int16(0), at(6000, sideAgent), "the agent's silence is filled")
	assert.InDelta(t, 8000, at(6000, sideCaller), 300)
	assert.Equal(t, int16(0), at(frames-10, sideCaller), "the tail without packets is silence")
	_, _, err = r.close()
	assert.Error(t, err, "closed twice")
}
