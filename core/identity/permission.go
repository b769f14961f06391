// Package identity holds the organisation tree, accounts, roles,
// permissions, sessions and data scopes (spec W-1). Roles are configuration
// (kind: role); permissions are declared by the Go modules that check them;
// data scopes are enforced here, in the queries, so no resolver can forget.
package identity

import (
	"github.com/hotline12345/hotline/core/registry"
)

// Permission is a named right checked by code, granted through roles.
type Permission struct {
	Name  string
	Label string // shown to administrators (Chinese)
}

// RegisterPermission declares a permission a module checks: the registry's
// entry "permission.NAME", its label the summary. Modules call it from init
// so roles referring to it lint clean.
func RegisterPermission(name, label string) string {
	registry.Add(registry.Entry{Namespace: registry.NSPermission, Name: name, Value: Permission{Name: name, Label: label}, Spec: registry.Spec{
		Summary:  label,
		Examples: []registry.Example{{Title: "A role granting it", YAML: name}},
	}})
	return name
}

func init() {
	registry.Declare(registry.Namespace{
		ID:          registry.NSPermission,
		Title:       "Permissions",
		Description: "Rights the platform's modules check; roles (`kind: role`) grant them, each in the role's data scope.",
		Document: func(e registry.Entry, ex string) string {
			return "kind: role\nname: " + e.ExampleName() + "\nlabel: 示例\nscope: self\npermissions: [" + ex + "]\n"
		},
	})
}

// Permissions lists every registered permission by name.
func Permissions() []Permission {
	out := []Permission{}
	for _, e := range registry.Global().Entries(registry.NSPermission) {
		out = append(out, e.Value.(Permission))
	}
	return out
}

// CheckPermission reports ref as an error unless a module registered the
// permission it names; every kind that names a permission checks it here.
func CheckPermission(c *registry.Context, ref registry.Ref) {
	if _, ok := lookupPermission(ref.Name); ok {
		return
	}
	c.Errorf(ref.Pos, "unknown permission %q%s", ref.Name, registry.Suggest(ref.Name, registry.Names(registry.NSPermission)))
}

func lookupPermission(name string) (Permission, bool) {
	return registry.Value[Permission](registry.NSPermission, name)
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
	// PermAnnouncementPublish is core/announce's, declared here for the
	// same reason: the shipped roles grant it.
	PermAnnouncementPublish = RegisterPermission("announcement.publish", "发布公告并查看阅读确认情况")
)
