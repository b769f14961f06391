package registry

import "sync/atomic"

// Runtime holds the configuration set the server is running. Readers take
// the current set once per request and use that snapshot throughout, so a
// reload never shows a request half of each version.
type Runtime struct {
	cur atomic.Pointer[Set]
}

// NewRuntime returns a runtime running s.
func NewRuntime(s *Set) *Runtime {
	r := &Runtime{}
	r.cur.Store(s)
	return r
}

// Current returns the running set.
func (r *Runtime) Current() *Set { return r.cur.Load() }

// Swap makes s the running set.
func (r *Runtime) Swap(s *Set) { r.cur.Store(s) }
