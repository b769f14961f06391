package identity

import (
	"context"
	"fmt"

	"github.com/hotline12345/hotline/core/audit"
)

// AuditLog lists audit rows in the principal's audit.read scope: rows of
// units in scope, or for a self scope the principal's own actions.
func (s *Service) AuditLog(ctx context.Context, p *Principal, f audit.Filter) ([]audit.Row, error) {
	p, err := p.For(PermAuditRead)
	if err != nil {
		return nil, err
	}
	f.Scope = func(args *[]any) string {
		if p.Scope == ScopeSelf {
			*args = append(*args, p.UserID)
			return fmt.Sprintf("actor_id = $%d", len(*args))
		}
		return p.ScopeSQL("unit_path", args)
	}
	return audit.List(ctx, s.pool, f)
}
