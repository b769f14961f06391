package telephony

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"time"
)

// rfc4733 turns telephone-event RTP packets into key presses. All packets
// of one event carry the event's RTP timestamp (RFC 4733 §2.5.1), so a key
// is reported on the first packet seen with a new timestamp, whatever its
// duration or marker: carriers (and sipp's own DTMF captures) send a first
// packet of duration 0, and the first packets may be lost. Later packets
// of the same event, its end packets and their retransmissions are
// ignored; the last few events are remembered so that a late, reordered
// end packet of the previous key does not press it again. A sender that
// replays the same packets (a recorded key played twice) reuses the
// timestamp: a packet that is not an end packet, arriving well after the
// event with that timestamp ended, starts a new event.
type rfc4733 struct {
	recent [4]dtmfEvent
	n      int
}

type dtmfEvent struct {
	timestamp uint32
	ended     time.Time // when its first end packet came; zero while it lasts
}

// replayGap is how long after an event's end a packet with its timestamp
// counts as a new key rather than a straggler.
const replayGap = 300 * time.Millisecond

// event returns the key of a telephone-event payload that arrived at now,
// if it starts a new event.
func (r *rfc4733) event(payload []byte, timestamp uint32, now time.Time) (rune, bool) {
	if len(payload) < 4 {
		return 0, false
	}
	end := payload[1]&0x80 != 0
	for i := 0; i < min(r.n, len(r.recent)); i++ {
		e := &r.recent[i]
		if e.timestamp != timestamp {
			continue
		}
		if end && e.ended.IsZero() {
			e.ended = now
		}
		if end || e.ended.IsZero() || now.Sub(e.ended) < replayGap {
			return 0, false
		}
		e.ended = time.Time{} // a replay: a new event with the old timestamp
		return eventKey(payload[0])
	}
	key, ok := eventKey(payload[0])
	if !ok {
		return 0, false
	}
	e := dtmfEvent{timestamp: timestamp}
	if end {
		e.ended = now
	}
	r.recent[r.n%len(r.recent)] = e
	r.n++
	return key, true
}

// eventKey maps RFC 4733 event codes 0–15 to keys.
func eventKey(code byte) (rune, bool) {
	switch {
	case code <= 9:
		return rune('0' + code), true
	case code == 10:
		return '*', true
	case code == 11:
		return '#', true
	case code >= 12 && code <= 15:
		return rune('A' + code - 12), true
	}
	return 0, false
}

// infoKey reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5").
func infoKey(contentType string, body []byte) (rune, bool) {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	switch ct {
	case "application/dtmf-relay":
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "signal") {
				return signalKey(strings.TrimSpace(value))
			}
		}
	case "application/dtmf":
		return signalKey(strings.TrimSpace(string(body)))
	}
	return 0, false
}

func signalKey(v string) (rune, bool) {
	if len(v) == 1 && strings.ContainsAny(v, "0123456789*#ABCDabcd") {
		return []rune(strings.ToUpper(v))[0], true
	}
	// Some phones send the event code: 10 for *, 11 for #.
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 15 {
		return eventKey(byte(n))
	}
	return 0, false
}
