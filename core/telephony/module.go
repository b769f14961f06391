package telephony

import (
	"context"
	"net/http"

	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
)

// Routes serves recordings (app.Router).
func (m Module) Routes(mux *http.ServeMux, signIn func(*http.Request) (*identity.Principal, error)) {
	mux.Handle("GET /recordings/{id}", RecordingHandler(m.Pool, m.Files, signIn))
}

// Start takes calls, when the node has a SIP server (module.Starter).
func (m Module) Start(ctx context.Context) error {
	if m.Server == nil {
		return nil
	}
	return m.Server.Start(ctx)
}

// Stop closes the SIP side and waits for it (module.Stopper).
func (m Module) Stop(context.Context) error {
	if m.Server != nil {
		m.Server.Stop()
	}
	return nil
}

// ConfigChanged registers again with the trunks that changed
// (module.Follower).
func (m Module) ConfigChanged(ctx context.Context, set *registry.Set) {
	if m.Server != nil {
		m.Server.ConfigChanged(ctx, set)
	}
}

// Declares names the trunk kind and the menus' kinds (the menus run in
// calls), the recording and supervision permissions and the call-binding
// procedure (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{KindTrunk, ivr.Kind, ivr.KindTest}, Permissions: []string{PermRecords, PermMonitor}, Procedures: []string{procBindCall}}
}
