package lograte

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// suppressedTotal lets a dashboard show a flood the log itself only
// summarises.
var suppressedTotal = promauto.NewCounter(prometheus.CounterOpts{
	Name: "hotline_log_suppressed_total",
	Help: "Log records left out because the same error was logged repeatedly (each window ends with a summary line).",
})
