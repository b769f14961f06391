package identity

import "github.com/hotline12345/hotline/core/module"

// Declares names the role and organisation kinds and the organisation's
// permissions (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{KindRole, KindOrganisation}, Permissions: []string{PermOrgManage, PermUserRead, PermUserManage, PermSessionManage, PermAuditRead}}
}
