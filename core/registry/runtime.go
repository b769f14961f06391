package registry

import (
	"sync"
	"sync/atomic"
)

// Runtime holds the configuration set the server is running. Readers take
// the current set once per request and use that snapshot throughout, so a
// reload never shows a request half of each version.
type Runtime struct {
	cur atomic.Pointer[Set]

	mu   sync.Mutex // serialises swaps with their notifications
	next int
	subs map[int]func(*Set)
}

// NewRuntime returns a runtime running s.
func NewRuntime(s *Set) *Runtime {
	r := &Runtime{}
	r.cur.Store(s)
	return r
}

// Current returns the running set.
func (r *Runtime) Current() *Set { return r.cur.Load() }

// Swap makes s the running set, then tells every subscriber, in the order
// they subscribed. Swapping in the set already running tells nobody.
func (r *Runtime) Swap(s *Set) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur.Swap(s) == s {
		return
	}
	for i := 0; i < r.next; i++ {
		if fn, ok := r.subs[i]; ok {
			fn(s)
		}
	}
}

// Subscribe calls fn with each set swapped in from now on, until the
// returned cancel is called. fn runs inside Swap, so it must not block,
// swap nor cancel: a module that reacts to a change (trunks registering again,
// queues re-evaluated) only signals its own goroutine from it, and reads
// Current there.
func (r *Runtime) Subscribe(fn func(*Set)) (cancel func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = map[int]func(*Set){}
	}
	id := r.next
	r.next++
	r.subs[id] = fn
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, id)
	}
}
