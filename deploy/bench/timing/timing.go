// Package timing measures latencies for the benchmark programs and reports
// their percentiles.
package timing

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Timings are latencies.
type Timings []time.Duration

// Run times fn n times.
func Run(n int, fn func(i int) error) (Timings, error) {
	var ts Timings
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		ts = append(ts, time.Since(start))
	}
	return ts, nil
}

// Report prints the count, p50, p99 and maximum.
func (ts Timings) Report(what string) {
	if len(ts) == 0 {
		fmt.Printf("%-58s n=0\n", what)
		return
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	pct := func(p float64) time.Duration { return s[int(float64(len(s)-1)*p)].Round(100 * time.Microsecond) }
	fmt.Printf("%-58s n=%-5d p50 %-9s p99 %-9s max %s\n", what, len(s), pct(0.5), pct(0.99), s[len(s)-1].Round(time.Millisecond))
}

// Slowest names the n inputs that took longest, for whoever tunes them.
func Slowest(ts Timings, inputs []string, n int) string {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(ts[b] - ts[a]) })
	var parts []string
	for _, i := range idx[:min(n, len(idx))] {
		parts = append(parts, fmt.Sprintf("%q %s", inputs[i], ts[i].Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}
