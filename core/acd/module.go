package acd

import (
	"context"

	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
)

// Start runs the distributor, offering tasks whenever one arrives or an
// agent changes and every Tick (module.Starter).
func (m *Module) Start(ctx context.Context) error {
	if m.Distributor != nil {
		m.jobs = module.Go(ctx, func(ctx context.Context) { m.Distributor.Run(ctx, m.Tick) })
	}
	return nil
}

// Stop waits for the distributor (module.Stopper).
func (m *Module) Stop(ctx context.Context) error { return m.jobs.Stop(ctx) }

// ConfigChanged re-evaluates the waiting calls against the queues as
// published (module.Follower).
func (m *Module) ConfigChanged(ctx context.Context, set *registry.Set) {
	if m.Distributor != nil {
		m.Distributor.ConfigChanged(ctx, set)
	}
}

// Declares names the queue and agent-states kinds and the supervision
// and agent-management permissions (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{KindQueue, KindStates}, Permissions: []string{PermSupervise, PermManage}}
}
