package export

import (
	"net/http"

	"github.com/hotline12345/hotline/core/identity"
)

// Routes serves finished exports, GET /exports/{id} (app.Router).
func (m Module) Routes(mux *http.ServeMux, signIn func(*http.Request) (*identity.Principal, error)) {
	mux.Handle("GET /exports/{id}", m.Service.Handler(signIn))
}
