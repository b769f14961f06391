package script

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Collectors are package-level so that several engines (tests create many)
// share them instead of registering the same names twice.
var (
	callsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_script_calls_total",
		Help: "Script calls by result: ok, error, budget (time budget exceeded) or memory (memory cap exceeded).",
	}, []string{"result"})
	callSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "hotline_script_call_seconds",
		Help:    "Wall-clock duration of script calls, including waiting for a Lua state.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9), // 100µs .. 6.5s
	})
)

func observeCall(err error, d time.Duration) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrBudgetExceeded):
		result = "budget"
	case errors.Is(err, ErrMemoryExceeded):
		result = "memory"
	default:
		result = "error"
	}
	callsTotal.WithLabelValues(result).Inc()
	callSeconds.Observe(d.Seconds())
}
