package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/hotline12345/hotline/core/registry"
)

// liveAPI serves GraphQL with a schema built from the running
// configuration, and builds it again on the first request after the
// configuration changed (a publish or a reload): the typed inputs generated from forms/ (createTicketAs<Form>)
// follow a form edit without a restart.
type liveAPI struct {
	current func() *registry.Set
	build   func() (http.Handler, error)
	log     *slog.Logger

	mu    sync.Mutex // one build at a time
	built atomic.Pointer[builtAPI]
}

type builtAPI struct {
	set *registry.Set
	h   http.Handler
}

func newLiveAPI(current func() *registry.Set, build func() (http.Handler, error), log *slog.Logger) (*liveAPI, error) {
	a := &liveAPI{current: current, build: build, log: log}
	set := current()
	h, err := build()
	if err != nil {
		return nil, err
	}
	a.built.Store(&builtAPI{set: set, h: h})
	return a, nil
}

func (a *liveAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.handler(r.Context()).ServeHTTP(w, r)
}

// handler is the handler for the running configuration. A schema that
// fails to build (which lint should have caught) keeps the one before.
func (a *liveAPI) handler(ctx context.Context) http.Handler {
	b := a.built.Load()
	set := a.current()
	if b.set == set {
		return b.h
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if b = a.built.Load(); b.set == set {
		return b.h
	}
	h, err := a.build()
	if err != nil {
		a.log.ErrorContext(ctx, "GraphQL schema for the new configuration failed to build; serving the one before", "err", err)
		a.built.Store(&builtAPI{set: set, h: b.h})
		return b.h
	}
	a.log.InfoContext(ctx, "GraphQL schema rebuilt for the new configuration")
	a.built.Store(&builtAPI{set: set, h: h})
	return h
}

var _ http.Handler = (*liveAPI)(nil)
