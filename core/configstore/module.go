package configstore

import (
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Declares names the permissions to read and publish the configuration
// (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Permissions: []string{identity.PermConfigRead, identity.PermConfigPublish}}
}
