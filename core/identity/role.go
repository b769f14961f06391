package identity

import (
	"github.com/hotline12345/hotline/core/registry"
)

// KindRole is the configuration kind of roles.
const KindRole = "role"

func init() {
	registry.Register(registry.Kind{
		Name:        KindRole,
		Dir:         "flows",
		Description: "A role: a set of permissions and the data scope its holders see.",
		New:         func() any { return &Role{} },
		Spec:        registry.Spec{Examples: roleExamples},
	})
}

// ScopeKind says which rows a role's holder may see.
type ScopeKind string

// Scopes from narrowest to widest.
const (
	ScopeSelf    ScopeKind = "self"    // own rows only
	ScopeUnit    ScopeKind = "unit"    // own unit's rows
	ScopeSubtree ScopeKind = "subtree" // own unit and every unit below it
	ScopeAll     ScopeKind = "all"     // everything
)

var scopeRank = map[ScopeKind]int{ScopeSelf: 1, ScopeUnit: 2, ScopeSubtree: 3, ScopeAll: 4}

// Role is a `kind: role` document:
//
//	kind: role
//	name: clerk
//	label: 承办人
//	scope: subtree
//	permissions: [user.read]
type Role struct {
	Name        string         `yaml:"name" jsonschema:"required"`
	Label       string         `yaml:"label" jsonschema:"required,description=the role's name shown to users (Chinese)"`
	Description string         `yaml:"description"`
	Scope       ScopeKind      `yaml:"scope" jsonschema:"required,enum=self,enum=unit,enum=subtree,enum=all"`
	Permissions []registry.Ref `yaml:"permissions"`
}

// Provision checks the role on its own.
func (r *Role) Provision(c *registry.Context) {
	if _, ok := scopeRank[r.Scope]; !ok {
		c.Errorf(c.At("scope"), "scope: %q is not one of self, unit, subtree, all", r.Scope)
	}
	seen := map[string]bool{}
	for _, p := range r.Permissions {
		if seen[p.Name] {
			c.Errorf(p.Pos, "permission %q listed twice", p.Name)
		}
		seen[p.Name] = true
		CheckPermission(c, p)
	}
}
