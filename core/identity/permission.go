// Package identity holds the organisation tree, accounts, roles,
// permissions, sessions and data scopes (spec W-1). Roles are configuration
// (kind: role); permissions are declared by the Go modules that check them;
// data scopes are enforced here, in the queries, so no resolver can forget.
package identity

import (
	"sort"
	"sync"

	"github.com/hotline12345/hotline/core/registry"
)

// Permission is a named right checked by code, granted through roles.
type Permission struct {
	Name  string
	Label string // shown to administrators (Chinese)
}

var (
	permMu      sync.RWMutex
	permissions = map[string]Permission{}
)

// RegisterPermission declares a permission a module checks. Modules call it
// from init so roles referring to it lint clean.
func RegisterPermission(name, label string) string {
	permMu.Lock()
	defer permMu.Unlock()
	if _, dup := permissions[name]; dup {
		panic("identity: permission registered twice: " + name)
	}
	permissions[name] = Permission{Name: name, Label: label}
	return name
}

// Permissions lists every registered permission by name.
func Permissions() []Permission {
	permMu.RLock()
	defer permMu.RUnlock()
	out := make([]Permission, 0, len(permissions))
	for _, p := range permissions {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CheckPermission reports ref as an error unless a module registered the
// permission it names; every kind that names a permission checks it here.
func CheckPermission(c *registry.Context, ref registry.Ref) {
	if _, ok := lookupPermission(ref.Name); ok {
		return
	}
	names := make([]string, 0)
	for _, known := range Permissions() {
		names = append(names, known.Name)
	}
	c.Errorf(ref.Pos, "unknown permission %q%s", ref.Name, registry.Suggest(ref.Name, names))
}

func lookupPermission(name string) (Permission, bool) {
	permMu.RLock()
	defer permMu.RUnlock()
	p, ok := permissions[name]
	return p, ok
}

// The kernel's own permissions.
var (
	PermOrgManage     = RegisterPermission("org.manage", "管理组织机构和岗位")
	PermUserRead      = RegisterPermission("user.read", "查看用户")
	PermUserManage    = RegisterPermission("user.manage", "管理用户、角色和密码")
	PermSessionManage = RegisterPermission("session.manage", "查看和注销他人会话")
	PermAuditRead     = RegisterPermission("audit.read", "查看审计日志")
	PermConfigRead    = RegisterPermission("config.read", "查看配置及其版本")
	PermConfigPublish = RegisterPermission("config.publish", "发布和重新加载配置")
	// PermOutboxManage is core/outbox's (dead letters, retries), declared
	// here so that every program loading flows/roles.yaml knows it.
	PermOutboxManage = RegisterPermission("outbox.manage", "查看和重新投递投递失败的消息（死信）")
)
