package lograte_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/lograte"
)

// sink is a JSON log written to memory, safe for the timer's goroutine.
type sink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// lines renders each record as "LEVEL msg error" plus " suppressed=N" for
// a summary, and " part=X" when the record carries one.
func (s *sink) lines(t *testing.T) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		line := fmt.Sprintf("%s %s", rec["level"], rec["msg"])
		for _, k := range []string{"error", "err", "cause"} {
			if v, ok := rec[k]; ok {
				line += fmt.Sprintf(" %v", v)
			}
		}
		if n, ok := rec[lograte.SuppressedKey]; ok {
			line += fmt.Sprintf(" suppressed=%v", n)
		}
		if p, ok := rec["part"]; ok {
			line += fmt.Sprintf(" part=%v", p)
		}
		out = append(out, line)
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// step logs n identical records after moving the clock by advance.
type step struct {
	advance time.Duration
	n       int
	level   slog.Level
	msg     string
	args    []any
	// derived logs through logger.With("part", "x"), which shares counts.
	derived bool
}

func repeat(n int, level slog.Level, msg string, args ...any) step {
	return step{n: n, level: level, msg: msg, args: args}
}

func times(n int, line string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = line
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestHandlerLimitsRepeatedErrors(t *testing.T) {
	boom := errors.New("dial unix /pg/.s.PGSQL.5432: connect: no such file or directory")
	other := errors.New("deadline exceeded")
	later := func(s step, d time.Duration) step { s.advance = d; return s }
	derived := func(s step) step { s.derived = true; return s }

	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name:  "the first five of one error pass, the rest are counted",
			steps: []step{repeat(12, slog.LevelError, "graphql: internal error", "error", boom)},
			want:  times(5, "ERROR graphql: internal error "+boom.Error()),
		},
		{
			name: "after the window a summary with the count, then a fresh burst",
			steps: []step{
				repeat(12, slog.LevelError, "q", "error", boom),
				later(repeat(6, slog.LevelError, "q", "error", boom), time.Minute),
			},
			want: concat(times(5, "ERROR q "+boom.Error()), []string{"ERROR q " + boom.Error() + " suppressed=7"},
				times(5, "ERROR q "+boom.Error())),
		},
		{
			name: "a window with nothing suppressed writes no summary",
			steps: []step{
				repeat(3, slog.LevelError, "q", "error", boom),
				later(repeat(1, slog.LevelError, "q", "error", boom), time.Minute),
			},
			want: times(4, "ERROR q "+boom.Error()),
		},
		{
			name: "different error texts are counted apart",
			steps: []step{
				repeat(7, slog.LevelError, "q", "error", boom),
				repeat(7, slog.LevelError, "q", "error", other),
			},
			want: concat(times(5, "ERROR q "+boom.Error()), times(5, "ERROR q "+other.Error())),
		},
		{
			name: "different messages and levels are counted apart",
			steps: []step{
				repeat(6, slog.LevelError, "q", "error", boom),
				repeat(6, slog.LevelWarn, "q", "error", boom),
				repeat(6, slog.LevelError, "r", "error", boom),
			},
			want: concat(times(5, "ERROR q "+boom.Error()), times(5, "WARN q "+boom.Error()), times(5, "ERROR r "+boom.Error())),
		},
		{
			name:  "records without an error pass untouched",
			steps: []step{repeat(9, slog.LevelInfo, "applied migration", "migration", "0001_x.sql")},
			want:  times(9, "INFO applied migration"),
		},
		{
			name:  "an error logged as a string under err counts",
			steps: []step{repeat(8, slog.LevelWarn, "http shutdown", "err", "context deadline exceeded")},
			want:  times(5, "WARN http shutdown context deadline exceeded"),
		},
		{
			name:  "an error value under another key counts",
			steps: []step{repeat(8, slog.LevelError, "x", "cause", boom)},
			want:  times(5, "ERROR x "+boom.Error()),
		},
		{
			name: "other attributes do not split a kind",
			steps: []step{
				repeat(3, slog.LevelError, "q", "path", "a", "error", boom),
				repeat(3, slog.LevelError, "q", "path", "b", "error", boom),
			},
			want: times(5, "ERROR q "+boom.Error()),
		},
		{
			name: "derived loggers share the counts; the summary carries the suppressed one's attributes",
			steps: []step{
				repeat(5, slog.LevelError, "q", "error", boom),
				derived(repeat(2, slog.LevelError, "q", "error", boom)),
				later(repeat(1, slog.LevelError, "q", "error", boom), time.Minute),
			},
			want: concat(times(5, "ERROR q "+boom.Error()), []string{"ERROR q " + boom.Error() + " suppressed=2 part=x", "ERROR q " + boom.Error()}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sink
			c := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
			log := slog.New(lograte.New(slog.NewJSONHandler(&out, nil), lograte.Options{Burst: 5, Window: time.Minute, Now: c.now}))
			for _, s := range tt.steps {
				c.t = c.t.Add(s.advance)
				l := log
				if s.derived {
					l = log.With("part", "x")
				}
				for range s.n {
					l.Log(t.Context(), s.level, s.msg, s.args...)
				}
			}
			assert.Equal(t, tt.want, out.lines(t))
		})
	}
}

func TestHandlerWritesTheSummaryWhenTheFaultStops(t *testing.T) {
	var out sink
	log := slog.New(lograte.New(slog.NewJSONHandler(&out, nil), lograte.Options{Burst: 2, Window: 100 * time.Millisecond}))
	for range 10 {
		log.Error("q", "error", "down")
	}
	require.Equal(t, times(2, "ERROR q down"), out.lines(t), "the rest is held back")
	require.Eventually(t, func() bool { return len(out.lines(t)) == 3 }, 5*time.Second, 10*time.Millisecond,
		"nothing more is logged, yet the count is written when the window ends")
	assert.Equal(t, "ERROR q down suppressed=8", out.lines(t)[2])
}

func TestHandlerBoundsTheKindsItTracks(t *testing.T) {
	var out sink
	c := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	log := slog.New(lograte.New(slog.NewJSONHandler(&out, nil), lograte.Options{Burst: 1, Window: time.Minute, MaxKeys: 2, Now: c.now}))
	for range 3 {
		log.Error("q", "error", "a")
		log.Error("q", "error", "b")
		log.Error("q", "error", "c")
	}
	assert.Equal(t, []string{"ERROR q a", "ERROR q b", "ERROR q c", "ERROR q c", "ERROR q c"}, out.lines(t),
		"a kind beyond the limit is written rather than lost")

	// Once the tracked kinds' window ended they make room again.
	c.t = c.t.Add(time.Minute)
	for range 3 {
		log.Error("q", "error", "d")
	}
	assert.Equal(t, []string{"ERROR q a suppressed=2", "ERROR q b suppressed=2", "ERROR q d"}, sortedTail(out.lines(t)[5:]))
}

// sortedTail sorts the summaries a sweep writes in map order.
func sortedTail(lines []string) []string {
	return slices.Sorted(slices.Values(lines))
}

func TestHandlerCountsEveryRecordUnderConcurrency(t *testing.T) {
	var out sink
	c := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return c.t }
	log := slog.New(lograte.New(slog.NewJSONHandler(&out, nil), lograte.Options{Burst: 5, Window: time.Minute, Now: now}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 250 {
				log.Error("q", "error", "down")
			}
		})
	}
	wg.Wait()
	mu.Lock()
	c.t = c.t.Add(time.Minute)
	mu.Unlock()
	log.Error("q", "error", "down")
	assert.Equal(t, concat(times(5, "ERROR q down"), []string{"ERROR q down suppressed=1995", "ERROR q down"}), out.lines(t))
}
