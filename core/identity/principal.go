package identity

import (
	"context"
	"fmt"
	"slices"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/store"
)

// Principal is the signed-in user a request acts for.
type Principal struct {
	UserID      int64
	Username    string
	DisplayName string
	UnitID      int64
	UnitPath    string
	UnitCode    string
	UnitKind    string
	Roles       []string
	// Scope is the widest data scope of the principal's roles: what it may
	// read of the organisation tree. Permission-gated work runs in the
	// scope of the roles granting that permission (see For).
	Scope     ScopeKind
	SessionID int64
	// MustChangePassword restricts the session to changing the password.
	MustChangePassword bool

	// perms maps each granted permission to the widest scope among the
	// roles granting it, so a narrow role's permission never combines
	// with a wide role's scope.
	perms map[string]ScopeKind
}

// Can reports whether one of the principal's roles grants perm.
func (p *Principal) Can(perm string) bool {
	_, ok := p.perms[perm]
	return ok
}

// For returns the principal narrowed to the data scope in which it holds
// perm, or FORBIDDEN when it does not hold it at all. Every
// permission-gated operation works through it.
func (p *Principal) For(perm string) (*Principal, error) {
	scope, ok := p.perms[perm]
	if !ok {
		return nil, p.Require(perm)
	}
	q := *p
	q.Scope = scope
	return &q, nil
}

// PermissionNames lists the granted permissions, sorted.
func (p *Principal) PermissionNames() []string {
	out := make([]string, 0, len(p.perms))
	for n := range p.perms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Require returns FORBIDDEN unless the principal holds perm.
func (p *Principal) Require(perm string) error {
	if p.Can(perm) {
		return nil
	}
	label := perm
	if pm, ok := lookupPermission(perm); ok {
		label = pm.Label
	}
	return gql.Errorf(gql.Forbidden, "没有权限：%s（%s）", label, perm)
}

// Actor returns the principal as an audit actor.
func (p *Principal) Actor() audit.Actor { return audit.Actor{ID: p.UserID, Name: p.Username} }

// ScopeSQL returns a predicate limiting rows whose unit path is in column
// col to the principal's scope, appending its argument to args. Every
// query over unit-owned rows in the store layer goes through it.
func (p *Principal) ScopeSQL(col string, args *[]any) string {
	switch p.Scope {
	case ScopeAll:
		return "TRUE"
	case ScopeSubtree:
		*args = append(*args, store.EscapeLike(p.UnitPath)+"%")
		return fmt.Sprintf("%s LIKE $%d", col, len(*args))
	default:
		*args = append(*args, p.UnitPath)
		return fmt.Sprintf("%s = $%d", col, len(*args))
	}
}

type principalKey struct{}

// WithPrincipal attaches the signed-in principal to ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal attached by WithPrincipal.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Current returns the signed-in principal or UNAUTHENTICATED.
func Current(ctx context.Context) (*Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, gql.Errorf(gql.Unauthenticated, "请先登录")
	}
	return p, nil
}
