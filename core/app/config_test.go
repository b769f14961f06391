package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/app"
)

func TestSIPBoundsComeFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name           string
		env            map[string]string
		message, heads int
		rate           float64
		err            string
	}{
		{name: "defaults", message: 16384, heads: 128, rate: 2000},
		{name: "set", env: map[string]string{"HOTLINE_SIP_MAX_MESSAGE": "8192", "HOTLINE_SIP_MAX_HEADERS": "64", "HOTLINE_SIP_RATE": "50"}, message: 8192, heads: 64, rate: 50},
		{name: "no rate limit", env: map[string]string{"HOTLINE_SIP_RATE": "0"}, message: 16384, heads: 128, rate: -1},
		{name: "too small", env: map[string]string{"HOTLINE_SIP_MAX_MESSAGE": "100"}, err: "HOTLINE_SIP_MAX_MESSAGE"},
		{name: "not a number", env: map[string]string{"HOTLINE_SIP_RATE": "lots"}, err: "HOTLINE_SIP_RATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v) // restored when the case ends
			}
			cfg, err := app.FromEnv()
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.message, cfg.SIPMaxMessage)
			assert.Equal(t, tc.heads, cfg.SIPMaxHeaders)
			assert.Equal(t, tc.rate, cfg.SIPRate)
		})
	}
}
