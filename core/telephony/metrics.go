package telephony

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// keyResponse is P-8's measure: from a key arriving to the menu's next
	// prompt starting.
	keyResponse = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "hotline_ivr_key_response_seconds",
		Help:    "Time from a caller's key press reaching the server to the next prompt starting.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2},
	})
	callsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_calls_total",
		Help: "Calls offered, by how they left the IVR menu (queue, transfer, voicemail, callback, hangup, abandoned, failed, rejected).",
	}, []string{"outcome"})
	registrations = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_registrations_total",
		Help: "REGISTER requests from agents' phones by result: ok or refused (wrong or unknown credentials).",
	}, []string{"result"})
	callsActive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "hotline_calls_active",
		Help: "Calls in progress on this node.",
	})
)

var (
	panicsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "hotline_panics_recovered_total",
		Help: "Panics in SIP handlers and call or media goroutines that were recovered instead of ending the process.",
	})
	sipRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_refused_total",
		Help: "SIP messages (and TCP connections) kept from the SIP stack, by transport and result: limited (over the source's rate, or a TCP connection over the source's share), refused (answered 4xx/5xx), dropped (unanswerable) or panic (the guard's own code panicked on it; dropped).",
	}, []string{"transport", "result"})
)
