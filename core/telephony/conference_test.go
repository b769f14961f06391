package telephony

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// level decodes 20 ms of µ-law and returns its first sample.
func level(t *testing.T, ulaw []byte) int {
	t.Helper()
	require.Len(t, ulaw, frameSamples)
	pcm := make([]byte, 2*frameSamples)
	_, err := audio.DecodeUlawTo(pcm, ulaw)
	require.NoError(t, err)
	return int(int16(binary.LittleEndian.Uint16(pcm)))
}

func TestConferenceMixesWhatEachPartyHears(t *testing.T) {
	const caller, agent, supervisor = 8000, -4000, 2000
	for _, tc := range []struct {
		mode                     string
		toCaller, toAgent, toSup int
	}{
		{ModeListen, agent, caller, caller + agent},
		{ModeWhisper, agent, caller + supervisor, caller + agent},
		{ModeBarge, agent + supervisor, caller + supervisor, caller + agent},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			var outs [3]bytes.Buffer
			m := newConference(tc.mode, [3]confOut{{&outs[0], media.CodecAudioUlaw.PayloadType}, {&outs[1], media.CodecAudioUlaw.PayloadType}, {&outs[2], media.CodecAudioUlaw.PayloadType}})
			m.push(sideCaller, media.CodecAudioUlaw.PayloadType, frame(t, caller))
			m.push(sideAgent, media.CodecAudioUlaw.PayloadType, frame(t, agent))
			m.push(sideSupervisor, media.CodecAudioUlaw.PayloadType, frame(t, supervisor))
			m.tick()
			// G.711 is logarithmic: a few percent off at these levels.
			assert.InDelta(t, tc.toCaller, level(t, outs[sideCaller].Bytes()), 300, "the caller hears")
			assert.InDelta(t, tc.toAgent, level(t, outs[sideAgent].Bytes()), 300, "the agent hears")
			assert.InDelta(t, tc.toSup, level(t, outs[sideSupervisor].Bytes()), 300, "the supervisor hears")
			// A party that sent nothing since is silence, not a repeat.
			m.tick()
			assert.Equal(t, 0, level(t, outs[sideCaller].Bytes()[frameSamples:]))
		})
	}
}

func TestConferenceDropsABacklogAndClipsLoudSums(t *testing.T) {
	var out bytes.Buffer
	m := newConference(ModeBarge, [3]confOut{{&out, media.CodecAudioUlaw.PayloadType}, {}, {}})
	for range 40 { // 800 ms arrive at once: only the last 400 ms are kept
		m.push(sideAgent, media.CodecAudioUlaw.PayloadType, frame(t, 30000))
		m.push(sideSupervisor, media.CodecAudioUlaw.PayloadType, frame(t, 30000))
	}
	assert.Len(t, m.in[sideAgent], maxBacklog)
	m.tick()
	assert.Greater(t, level(t, out.Bytes()), 30000, "the sum is clipped, not wrapped")
}
