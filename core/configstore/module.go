package configstore

import (
	"context"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Start follows the database's active set, and the folders' edits with
// Watch (module.Starter).
func (m *Module) Start(ctx context.Context) error {
	if m.Poll <= 0 {
		return nil
	}
	run := []func(context.Context){func(ctx context.Context) { m.Manager.Follow(ctx, m.Poll) }}
	if m.Watch > 0 {
		run = append(run, func(ctx context.Context) { m.Manager.Watch(ctx, m.Watch, audit.System) })
	}
	m.jobs = module.Go(ctx, run...)
	return nil
}

// Stop waits for the follower and the watcher (module.Stopper).
func (m *Module) Stop(ctx context.Context) error { return m.jobs.Stop(ctx) }

// Declares names the permissions to read and publish the configuration
// (module.Declarer).
func (*Module) Declares() module.Declarations {
	return module.Declarations{Permissions: []string{identity.PermConfigRead, identity.PermConfigPublish}}
}
