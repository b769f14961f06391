package attachment

import (
	"net/http"

	"github.com/hotline12345/hotline/core/identity"
)

// Module is attachments' part of the platform: uploads and downloads over
// HTTP (GraphQL only names attachments by id, in forms' fields).
type Module struct{ Service *Service }

// Name names the module.
func (Module) Name() string { return "attachment" }

// Routes serves POST /attachments and GET /attachments/{id} (app.Router).
func (m Module) Routes(mux *http.ServeMux, signIn func(*http.Request) (*identity.Principal, error)) {
	m.Service.Handlers(mux, signIn)
}
