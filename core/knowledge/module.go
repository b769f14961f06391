package knowledge

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Routes serves the import template, imports and their reports
// (app.Router).
func (m *Module) Routes(mux *http.ServeMux, signIn func(*http.Request) (*identity.Principal, error)) {
	m.Service.Handlers(mux, signIn)
}

// Start opens this node's index (one process holds it) and keeps it
// following the database every Tick (module.Starter).
func (m *Module) Start(ctx context.Context) error {
	if err := m.Service.Open(ctx); err != nil {
		return fmt.Errorf("opening the knowledge base: %w", err)
	}
	m.jobs = module.Go(ctx, func(ctx context.Context) { m.Service.Run(ctx, m.Tick) })
	return nil
}

// Stop ends the catch-up and closes the index (module.Stopper).
func (m *Module) Stop(ctx context.Context) error {
	_ = m.jobs.Stop(ctx)
	// Close waits for Run, which the jobs ended above.
	if err := m.Service.Close(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("closing the knowledge base: %w", err)
	}
	return nil
}

// Declares names the knowledge settings' kind, the editors' permission
// and the knowledge flow's procedures (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{Kind}, Permissions: []string{PermEdit}, Procedures: []string{"knowledge.publish", "knowledge.archive", "knowledge.cite"}}
}
