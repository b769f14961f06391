package telephony

import (
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// HandleForTest makes s, once started, serve method with h, wrapped as
// every handler of s is.
func HandleForTest(s *Server, method string, h sipgo.RequestHandler) {
	if s.handlers == nil {
		s.handlers = map[sip.RequestMethod]sipgo.RequestHandler{}
	}
	s.handlers[sip.RequestMethod(method)] = h
}

// PanicsRecovered is how many panics were recovered so far.
func PanicsRecovered() float64 { return counterValue(panicsTotal) }

// SIPRefused is how many SIP messages were kept from the stack with a
// result (limited, refused, dropped) on a transport.
func SIPRefused(transport, result string) float64 {
	return counterValue(sipRefused.WithLabelValues(transport, result))
}

// GoSafe is goSafe.
func GoSafe(what string, f func()) { goSafe(nil, what, f) }

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// Playing is playing.
func Playing(play func() error) <-chan error { return playing(nil, play) }
