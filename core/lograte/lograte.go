// Package lograte keeps a repeating failure from flooding the log: a
// slog.Handler wrapper lets the first records of one kind through, counts
// the rest for a window, and then writes one summary line with the count.
//
// A record's kind is its level, its message and the text of its error
// attribute. Records without an error pass untouched: the same message
// with different data ("applied migration", "configuration problem") is
// information, while the same error again is usually one fault seen by
// many requests, for example a database that went away.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultBurst   = 5
	DefaultWindow  = time.Minute
	DefaultMaxKeys = 1024
)

// SuppressedKey and WindowKey are the attributes of a summary line: how
// many records of that kind were left out, and over what window.
const (
	SuppressedKey = "log_suppressed"
	WindowKey     = "log_suppressed_window"
)

// Options configures New; zero values take the defaults.
type Options struct {
	// Burst is how many records of one kind pass in a window.
	Burst int
	// Window is how long a kind is counted once it first appears.
	Window time.Duration
	// MaxKeys bounds the kinds tracked at once (memory); records of kinds
	// beyond it pass untouched rather than being lost unseen.
	MaxKeys int
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Handler is the rate-limiting wrapper. Handlers derived with WithAttrs or
// WithGroup share their parent's counts.
type Handler struct {
	next  slog.Handler
	state *state
}

type state struct {
	burst   int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu    sync.Mutex
	kinds map[kind]*entry
}

type kind struct {
	level   slog.Level
	message string
	err     string
}

type entry struct {
	start      time.Time
	passed     int
	suppressed int
	// next is the handler the first suppressed record was for, so the
	// summary carries the same attributes (component, data dir).
	next  slog.Handler
	timer *time.Timer
}

// New wraps next.
func New(next slog.Handler, opts Options) *Handler {
	st := &state{burst: opts.Burst, window: opts.Window, maxKeys: opts.MaxKeys, now: opts.Now, kinds: map[kind]*entry{}}
	if st.burst <= 0 {
		st.burst = DefaultBurst
	}
	if st.window <= 0 {
		st.window = DefaultWindow
	}
	if st.maxKeys <= 0 {
		st.maxKeys = DefaultMaxKeys
	}
	if st.now == nil {
		st.now = time.Now
	}
	return &Handler{next: next, state: st}
}

// Enabled defers to the wrapped handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// WithAttrs returns a handler sharing h's counts.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup returns a handler sharing h's counts.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}

// Handle passes r on, or counts it when its kind has used up its burst.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	errText, ok := errorText(r)
	if !ok {
		return h.next.Handle(ctx, r)
	}
	k := kind{level: r.Level, message: r.Message, err: errText}
	st := h.state
	st.mu.Lock()
	now := st.now()
	var due []summary
	e := st.kinds[k]
	if e != nil && now.Sub(e.start) >= st.window {
		// The timer may not have fired yet (or the clock is a test's).
		due = append(due, st.take(k, e))
		e = nil
	}
	if e == nil {
		if len(st.kinds) >= st.maxKeys {
			due = append(due, st.sweep(now)...)
		}
		if len(st.kinds) >= st.maxKeys {
			st.mu.Unlock()
			emit(due)
			return h.next.Handle(ctx, r)
		}
		e = &entry{start: now}
		st.kinds[k] = e
	}
	pass := e.passed < st.burst
	if pass {
		e.passed++
	} else {
		if e.suppressed == 0 {
			e.next = h.next
			// Without a timer a fault that stops would never get its
			// summary written.
			e.timer = time.AfterFunc(e.start.Add(st.window).Sub(now), func() { st.expire(k, e) })
		}
		e.suppressed++
		suppressedTotal.Inc()
	}
	st.mu.Unlock()
	emit(due)
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

type summary struct {
	next   slog.Handler
	kind   kind
	count  int
	window time.Duration
}

// take removes k and returns its summary (count 0: nothing to write).
// Called with mu held.
func (st *state) take(k kind, e *entry) summary {
	delete(st.kinds, k)
	if e.timer != nil {
		e.timer.Stop()
	}
	return summary{next: e.next, kind: k, count: e.suppressed, window: st.window}
}

// sweep drops every kind whose window ended. Called with mu held.
func (st *state) sweep(now time.Time) []summary {
	var out []summary
	for k, e := range st.kinds {
		if now.Sub(e.start) >= st.window {
			out = append(out, st.take(k, e))
		}
	}
	return out
}

func (st *state) expire(k kind, e *entry) {
	st.mu.Lock()
	if st.kinds[k] != e {
		// Already taken by Handle or a sweep.
		st.mu.Unlock()
		return
	}
	s := st.take(k, e)
	st.mu.Unlock()
	emit([]summary{s})
}

func emit(due []summary) {
	for _, s := range due {
		if s.count == 0 {
			continue
		}
		r := slog.NewRecord(time.Now(), s.kind.level, s.kind.message, 0)
		r.AddAttrs(slog.String("error", s.kind.err), slog.Int(SuppressedKey, s.count), slog.Duration(WindowKey, s.window))
		// A summary is written on a timer, after the request that logged
		// the record is gone; its context would only be a cancelled one.
		_ = s.next.Handle(context.Background(), r)
	}
}

// errorText finds the record's error: an attribute named "error" or "err"
// (an error or a string, the two ways the code base logs one), else any
// attribute holding an error value.
func errorText(r slog.Record) (string, bool) {
	var named, other string
	var haveNamed, haveOther bool
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		var text string
		var isErr bool
		if v.Kind() == slog.KindAny {
			if err, ok := v.Any().(error); ok && err != nil {
				text, isErr = err.Error(), true
			}
		}
		if a.Key == "error" || a.Key == "err" {
			if !isErr {
				text = v.String()
			}
			named, haveNamed = text, true
			return false
		}
		if isErr && !haveOther {
			other, haveOther = text, true
		}
		return true
	})
	if haveNamed {
		return named, true
	}
	return other, haveOther
}
