package flow

import (
	"context"

	"github.com/hotline12345/hotline/core/calendar"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/script"
	"github.com/hotline12345/hotline/core/ticket"
)

// Start runs the ticket timers (deadlines, escalations) and keeps the
// search index current (module.Starter).
func (m *Module) Start(ctx context.Context) error {
	m.jobs = module.Go(ctx,
		func(ctx context.Context) { m.Engine.RunTimers(ctx, m.TimerTick, m.Log) },
		func(ctx context.Context) { m.Engine.Store.KeepIndexCurrent(ctx, m.IndexTick, m.Log) })
	return nil
}

// Stop waits for the timers and the index keeper (module.Stopper).
func (m *Module) Stop(ctx context.Context) error { return m.jobs.Stop(ctx) }

// Declares names the flow kinds and what flows run on (rules, calendars,
// scripts), and the tickets' personal-data permissions (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{
		Kinds:       []string{Kind, rules.KindRule, calendar.Kind, script.KindScript, script.KindScriptTest},
		Permissions: []string{ticket.PermPersonalView, ticket.PermPersonalConfidential},
	}
}
