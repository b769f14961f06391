package gql

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_graphql_requests_total",
		Help: "GraphQL requests by operation name and result (ok: no errors; error: any error in the response).",
	}, []string{"operation", "result"})
	requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_graphql_request_seconds",
		Help:    "Time to answer a GraphQL request, from reading the body to writing the response.",
		Buckets: prometheus.DefBuckets,
	}, []string{"operation"})
	wsConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hotline_graphql_websocket_connections",
		Help: "Open GraphQL WebSocket connections (graphql-transport-ws).",
	})
	activeSubscriptions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hotline_graphql_subscriptions",
		Help: "GraphQL subscriptions streaming events over WebSocket now.",
	})

	registerOnce sync.Once
)

// Collectors returns the package's metrics for registries other than the
// default one (tests, a separate admin registry).
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{requestsTotal, requestSeconds, wsConnections, activeSubscriptions}
}

// registerMetrics registers with the default registerer once, however many
// handlers are built (tests, several mounts); a collector registered by the
// application beforehand is accepted.
func registerMetrics() {
	registerOnce.Do(func() {
		for _, c := range Collectors() {
			if err := prometheus.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	})
}

// maxOperationLabels bounds the label cardinality: operation names are
// chosen by clients, and a client inventing a new name per request would
// otherwise grow the metrics without bound.
const (
	maxOperationLabels = 500
	maxOperationLen    = 100
)

var (
	labelsMu   sync.Mutex
	seenLabels = map[string]bool{}
)

func operationLabel(name string) string {
	if name == "" {
		return "anonymous"
	}
	if len(name) > maxOperationLen {
		name = name[:maxOperationLen]
	}
	labelsMu.Lock()
	defer labelsMu.Unlock()
	if seenLabels[name] {
		return name
	}
	if len(seenLabels) >= maxOperationLabels {
		return "other"
	}
	seenLabels[name] = true
	return name
}

func observe(operation string, failed bool, d time.Duration) {
	op := operationLabel(operation)
	result := "ok"
	if failed {
		result = "error"
	}
	requestsTotal.WithLabelValues(op, result).Inc()
	requestSeconds.WithLabelValues(op).Observe(d.Seconds())
}
