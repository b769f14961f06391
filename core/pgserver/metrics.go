package pgserver

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	restartsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "hotline_postgres_restarts_total",
		Help: "Restarts of the private PostgreSQL by supervision after its postmaster died.",
	})
	restartFailuresTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "hotline_postgres_restart_failures_total",
		Help: "Attempts to restart the private PostgreSQL that failed (each is retried after a pause).",
	})
)
