package telephony

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRFC4733Events(t *testing.T) {
	pkt := func(event byte, end bool, duration uint16) []byte {
		b := []byte{event, 10, byte(duration >> 8), byte(duration)}
		if end {
			b[1] |= 0x80
		}
		return b
	}
	type packet struct {
		payload []byte
		ts      uint32
		at      int // ms
	}
	cases := []struct {
		name    string
		packets []packet
		want    string
	}{
		{"first packet of duration 0 (sipp, some carriers)", []packet{{pkt(5, false, 0), 100, 0}, {pkt(5, false, 160), 100, 0}, {pkt(5, true, 800), 100, 0}, {pkt(5, true, 800), 100, 0}}, "5"},
		{"first packets lost, only end packets", []packet{{pkt(1, true, 800), 100, 0}, {pkt(1, true, 800), 100, 0}, {pkt(1, true, 800), 100, 0}}, "1"},
		{"same key twice", []packet{{pkt(0, false, 160), 100, 0}, {pkt(0, true, 800), 100, 0}, {pkt(0, false, 160), 1700, 0}, {pkt(0, true, 800), 1700, 0}}, "00"},
		{"star, hash and a late end of the previous key", []packet{{pkt(10, false, 160), 100, 0}, {pkt(11, false, 160), 900, 0}, {pkt(10, true, 800), 100, 0}, {pkt(11, true, 800), 900, 0}}, "*#"},
		{"unknown event and short payload", []packet{{pkt(40, false, 160), 100, 0}, {[]byte{1, 2}, 200, 0}}, ""},
		{"a recording of a key played twice", []packet{{pkt(1, false, 0), 100, 0}, {pkt(1, true, 800), 100, 100}, {pkt(1, true, 800), 100, 120},
			{pkt(1, false, 0), 100, 1500}, {pkt(1, true, 800), 100, 1600}}, "11"},
		{"a straggler just after the end is not a new key", []packet{{pkt(1, false, 0), 100, 0}, {pkt(1, true, 800), 100, 100}, {pkt(1, false, 640), 100, 110}}, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r rfc4733
			got := ""
			for _, p := range tc.packets {
				if k, ok := r.event(p.payload, p.ts, time.UnixMilli(int64(p.at))); ok {
					got += string(k)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSIPInfoKeys(t *testing.T) {
	cases := []struct {
		contentType, body string
		want              rune
		ok                bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"Application/DTMF-Relay; charset=utf-8", "signal= #\nDuration=250", '#', true},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160", '#', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"application/dtmf-relay", "Signal=x", 0, false},
		{"text/plain", "Signal=5", 0, false},
	}
	for _, tc := range cases {
		k, ok := infoKey(tc.contentType, []byte(tc.body))
		assert.Equal(t, tc.ok, ok, "%s %q", tc.contentType, tc.body)
		assert.Equal(t, tc.want, k, "%s %q", tc.contentType, tc.body)
	}
}
