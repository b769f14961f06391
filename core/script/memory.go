package script

import (
	"context"
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Memory watchdog.
//
// gopher-lua allocates through the Go runtime and has no allocator hook, so
// a call's own memory use cannot be measured. Instead a watchdog samples the
// process's heap ("/memory/classes/heap/objects:bytes") every millisecond
// while a call runs and cancels the call when the heap has grown by more
// than the cap since the call began.
//
// This is process-wide and therefore approximate: other goroutines' growth
// counts against the script, and garbage (anyone's) counts until the next
// GC. To keep busy servers from failing innocent scripts, crossing the
// threshold is only a suspicion: the watchdog then forces a GC (shared by all
// watchdogs suspecting at the same time) and cancels only if the live heap
// after collection still exceeds the baseline by the cap. The baseline is the
// heap at the start, garbage included, lowered when a forced GC shows less;
// it can be too generous for one GC cycle. That is acceptable because the
// cap exists to stop runaway scripts, which grow the heap by hundreds of
// megabytes within milliseconds, not to account memory precisely; an honest
// script is nowhere near 64 MiB, and the built-ins that could allocate a lot
// in one step check sizes themselves. Calls shorter than one sample interval
// cost one metrics read and a timer.

const (
	heapSampleInterval = time.Millisecond
	heapObjectsMetric  = "/memory/classes/heap/objects:bytes"
)

func heapObjects() int64 {
	s := [1]metrics.Sample{{Name: heapObjectsMetric}}
	metrics.Read(s[:])
	return int64(s[0].Value.Uint64())
}

// heapBaseline is the heap (live and garbage) when a call starts. Counting
// the garbage errs on the lenient side: a false kill of an honest script on
// a busy server is worse than letting a runaway one allocate one more GC
// cycle's worth of garbage before the confirmed check stops it.
func heapBaseline() int64 { return heapObjects() }

type heapWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	limit  int64
	base   int64
	done   chan struct{}
	timer  *time.Timer
}

// watchHeap starts watching heap growth for one call; cancel is called with
// ErrMemoryExceeded when the call's growth exceeds limit.
func watchHeap(ctx context.Context, limit int64, cancel context.CancelCauseFunc) *heapWatch {
	w := &heapWatch{ctx: ctx, cancel: cancel, limit: limit, base: heapBaseline(), done: make(chan struct{})}
	w.timer = time.AfterFunc(heapSampleInterval, w.run)
	return w
}

func (w *heapWatch) stop() {
	w.timer.Stop()
	close(w.done)
}

func (w *heapWatch) run() {
	tick := time.NewTicker(heapSampleInterval)
	defer tick.Stop()
	threshold := addCapped(w.base, w.limit)
	for {
		if heapObjects() > threshold {
			live := liveHeapSince(time.Now())
			if live-w.base > w.limit {
				w.cancel(ErrMemoryExceeded)
				return
			}
			w.base = min(w.base, live)
			// Not this call's doing (or not yet): suspect again only after
			// another cap's worth of growth, so a busy process is not
			// collected every millisecond.
			threshold = addCapped(live, w.limit)
		}
		select {
		case <-w.done:
			return
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

var forcedGC struct {
	sync.Mutex
	at   time.Time
	live int64
}

// liveHeapSince returns the heap size right after a GC that finished after
// suspected, running one unless another watchdog just did.
func liveHeapSince(suspected time.Time) int64 {
	forcedGC.Lock()
	defer forcedGC.Unlock()
	if forcedGC.at.After(suspected) {
		return forcedGC.live
	}
	runtime.GC()
	forcedGC.live = heapObjects()
	forcedGC.at = time.Now()
	return forcedGC.live
}
