package outbox

import (
	"context"

	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Start listens for the outbox's notifications and runs the dispatcher
// (module.Starter).
func (m *Module) Start(ctx context.Context) error {
	var run []func(context.Context)
	if m.Feed != nil {
		run = append(run, m.Feed.Run)
	}
	if m.Dispatcher != nil {
		run = append(run, m.Dispatcher.Run)
	}
	m.jobs = module.Go(ctx, run...)
	return nil
}

// Stop waits for the listener and the dispatcher, so no delivery is cut
// off by storage closing (module.Stopper).
func (m *Module) Stop(ctx context.Context) error { return m.jobs.Stop(ctx) }

// Declares names the dead letters' permission (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Permissions: []string{identity.PermOutboxManage}}
}
