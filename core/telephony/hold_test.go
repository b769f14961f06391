package telephony

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/acd"
)

func TestPlacePrompts(t *testing.T) {
	both := &acd.Wait{Position: true, Estimate: true}
	for _, tc := range []struct {
		name     string
		wait     *acd.Wait
		pos      int
		estimate time.Duration
		want     []string
	}{
		{"next in line says nothing of the place", both, 1, 0, nil},
		{"three ahead, no estimate yet", both, 4, 0, []string{"position_before", "num_3", "position_after"}},
		{"minutes round up", both, 2, 61 * time.Second, []string{"position_before", "num_1", "position_after", "estimate_before", "num_2", "estimate_after"}},
		{"more than the prompts count", both, 40, 0, []string{"position_before", "more_than", "num_30", "position_after"}},
		{"position only", &acd.Wait{Position: true}, 3, time.Minute, []string{"position_before", "num_2", "position_after"}},
		{"neither", &acd.Wait{}, 9, time.Minute, nil},
	} {
		assert.Equal(t, tc.want, placePrompts(tc.wait, tc.pos, tc.estimate), tc.name)
	}
}

func TestTheDefaultPromptsSayEveryPlace(t *testing.T) {
	names := []string{"position_before", "position_after", "estimate_before", "estimate_after", "more_than"}
	for n := 0; n <= maxSpoken; n++ {
		names = append(names, number(n)...)
	}
	for _, name := range names {
		assert.FileExists(t, "../../testdata/prompts/zh/"+name+".wav")
	}
}
