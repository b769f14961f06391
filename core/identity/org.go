package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/store"
)

// Unit is a node of the organisation tree.
type Unit struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	ParentID  *int64    `json:"parentId"`
	Path      string    `json:"path"`
	Depth     int       `json:"depth"`
	Sort      int       `json:"sort"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"-"`
}

// unitMoveLockKey serialises moves of units within the tree.
const unitMoveLockKey int64 = 0x756e69746d6f7665

const unitColumns = `id, code, name, kind, parent_id, path, depth, sort, active, created_at`

func scanUnit(row pgx.CollectableRow) (Unit, error) {
	var u Unit
	err := row.Scan(&u.ID, &u.Code, &u.Name, &u.Kind, &u.ParentID, &u.Path, &u.Depth, &u.Sort, &u.Active, &u.CreatedAt)
	return u, err
}

// UnitFilter narrows Units.
type UnitFilter struct {
	// ParentID lists the children of one unit; nil with Roots lists the
	// top of what the principal sees.
	ParentID *int64
	Roots    bool
	Search   string
	AfterID  int64
	Limit    int
}

// Units lists units in the principal's scope.
func (s *Service) Units(ctx context.Context, p *Principal, f UnitFilter) ([]Unit, error) {
	var args []any
	where := []string{p.ScopeSQL("path", &args)}
	if f.ParentID != nil {
		args = append(args, *f.ParentID)
		where = append(where, fmt.Sprintf("parent_id = $%d", len(args)))
	} else if f.Roots {
		// The top of what the principal sees: units whose parent it cannot
		// see (for a district clerk, the district itself).
		where = append(where, fmt.Sprintf("(parent_id IS NULL OR NOT (%s))",
			p.ScopeSQL("(SELECT pu.path FROM units pu WHERE pu.id = units.parent_id)", &args)))
	}
	if f.Search != "" {
		args = append(args, "%"+store.EscapeLike(f.Search)+"%")
		where = append(where, fmt.Sprintf("(name LIKE $%d OR code LIKE $%d)", len(args), len(args)))
	}
	if f.AfterID > 0 {
		args = append(args, f.AfterID)
		where = append(where, fmt.Sprintf("id > $%d", len(args)))
	}
	args = append(args, pageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, `SELECT `+unitColumns+` FROM units WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing units: %w", err)
	}
	units, err := pgx.CollectRows(rows, scanUnit)
	if err != nil {
		return nil, fmt.Errorf("listing units: %w", err)
	}
	return units, nil
}

// pageLimit bounds a page: callers ask for one row more than the page
// (first+1, first <= 1000) to learn whether there is a next page.
func pageLimit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 1001)
}

// Unit returns one unit in the principal's scope; outside it the unit does
// not exist for the principal (NOT_FOUND, not FORBIDDEN, so its existence
// is not disclosed).
func (s *Service) Unit(ctx context.Context, p *Principal, id int64) (Unit, error) {
	return s.unit(ctx, s.pool, p, id)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Service) unit(ctx context.Context, q querier, p *Principal, id int64) (Unit, error) {
	args := []any{id}
	rows, err := q.Query(ctx, `SELECT `+unitColumns+` FROM units WHERE id = $1 AND `+p.ScopeSQL("path", &args), args...)
	if err != nil {
		return Unit{}, fmt.Errorf("reading unit %d: %w", id, err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUnit)
	if errors.Is(err, pgx.ErrNoRows) {
		return Unit{}, gql.Errorf(gql.NotFound, "机构 %d 不存在或不在您的数据范围内", id)
	}
	if err != nil {
		return Unit{}, fmt.Errorf("reading unit %d: %w", id, err)
	}
	return u, nil
}

// UnitInput creates or changes a unit.
type UnitInput struct {
	Code     *string
	Name     *string
	Kind     *string
	ParentID *int64
	Sort     *int
	Active   *bool
}

// CreateUnit adds a unit below a parent the principal manages.
func (s *Service) CreateUnit(ctx context.Context, p *Principal, in UnitInput) (Unit, error) {
	p, err := p.For(PermOrgManage)
	if err != nil {
		return Unit{}, err
	}
	code, name, kind := strings.TrimSpace(deref(in.Code)), strings.TrimSpace(deref(in.Name)), strings.TrimSpace(deref(in.Kind))
	switch {
	case code == "":
		return Unit{}, gql.FieldError("input.code", "请填写机构编码")
	case name == "":
		return Unit{}, gql.FieldError("input.name", "请填写机构名称")
	case kind == "":
		return Unit{}, gql.FieldError("input.kind", "请填写机构类型")
	}
	var out Unit
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		parentPath, depth := "/", 0
		if in.ParentID != nil {
			parent, err := s.unit(ctx, tx, p, *in.ParentID)
			if err != nil {
				return err
			}
			parentPath, depth = parent.Path, parent.Depth+1
		} else if p.Scope != ScopeAll {
			return gql.Errorf(gql.Forbidden, "只有全局数据范围的管理员可以创建顶级机构")
		}
		var err error
		out, err = insertUnit(ctx, tx, code, name, kind, in.ParentID, parentPath, depth, derefInt(in.Sort))
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "unit.create", TargetType: "unit",
			TargetID: fmt.Sprint(out.ID), UnitPath: out.Path, After: out})
	})
	return out, err
}

func insertUnit(ctx context.Context, tx pgx.Tx, code, name, kind string, parentID *int64, parentPath string, depth, sort int) (Unit, error) {
	var id int64
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('units', 'id'))`).Scan(&id); err != nil {
		return Unit{}, fmt.Errorf("allocating unit id: %w", err)
	}
	path := fmt.Sprintf("%s%d/", parentPath, id)
	rows, err := tx.Query(ctx, `INSERT INTO units (id, code, name, kind, parent_id, path, depth, sort)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+unitColumns,
		id, code, name, kind, parentID, path, depth, sort)
	if err != nil {
		return Unit{}, fmt.Errorf("creating unit %s: %w", code, err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUnit)
	if store.IsUniqueViolation(err) {
		return Unit{}, &gql.Error{Code: gql.Conflict, Field: "input.code", Message: fmt.Sprintf("机构编码 %s 已存在", code), Err: err}
	}
	if err != nil {
		return Unit{}, fmt.Errorf("creating unit %s: %w", code, err)
	}
	return u, nil
}

// UpdateUnit changes a unit; a new parent moves the unit with everything
// below it.
func (s *Service) UpdateUnit(ctx context.Context, p *Principal, id int64, in UnitInput) (Unit, error) {
	p, err := p.For(PermOrgManage)
	if err != nil {
		return Unit{}, err
	}
	var out Unit
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if in.ParentID != nil {
			// Moves rewrite paths of whole subtrees; one at a time, so two
			// crossing moves cannot both pass the cycle check.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, unitMoveLockKey); err != nil {
				return fmt.Errorf("locking unit moves: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM units WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("locking unit %d: %w", id, err)
		}
		before, err := s.unit(ctx, tx, p, id)
		if err != nil {
			return err
		}
		after := before
		if in.Code != nil {
			after.Code = strings.TrimSpace(*in.Code)
			if after.Code == "" {
				return gql.FieldError("input.code", "机构编码不能为空")
			}
		}
		if in.Name != nil {
			after.Name = strings.TrimSpace(*in.Name)
			if after.Name == "" {
				return gql.FieldError("input.name", "机构名称不能为空")
			}
		}
		if in.Kind != nil {
			after.Kind = strings.TrimSpace(*in.Kind)
			if after.Kind == "" {
				return gql.FieldError("input.kind", "机构类型不能为空")
			}
		}
		if in.Sort != nil {
			after.Sort = *in.Sort
		}
		if in.Active != nil {
			after.Active = *in.Active
		}
		if p.Scope != ScopeAll && id == p.UnitID {
			if err := topUnitKept(before, after, in); err != nil {
				return err
			}
		}
		if in.ParentID != nil && (before.ParentID == nil || *before.ParentID != *in.ParentID) {
			parent, err := s.unit(ctx, tx, p, *in.ParentID)
			if err != nil {
				return err
			}
			if strings.HasPrefix(parent.Path, before.Path) {
				return gql.FieldError("input.parentId", "不能把机构移动到它自己或它的下级机构之下")
			}
			after.ParentID = &parent.ID
			after.Path = fmt.Sprintf("%s%d/", parent.Path, id)
			after.Depth = parent.Depth + 1
			if _, err := tx.Exec(ctx, `UPDATE units SET path = $2 || substr(path, length($1) + 1), depth = depth + $3
				WHERE path LIKE $4`, before.Path, after.Path, after.Depth-before.Depth, store.EscapeLike(before.Path)+"%"); err != nil {
				return fmt.Errorf("moving unit %d: %w", id, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE units SET code = $2, name = $3, kind = $4, parent_id = $5, sort = $6, active = $7, updated_at = now()
			WHERE id = $1`, id, after.Code, after.Name, after.Kind, after.ParentID, after.Sort, after.Active)
		if store.IsUniqueViolation(err) {
			return &gql.Error{Code: gql.Conflict, Field: "input.code", Message: fmt.Sprintf("机构编码 %s 已存在", after.Code), Err: err}
		}
		if err != nil {
			return fmt.Errorf("updating unit %d: %w", id, err)
		}
		out = after
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "unit.update", TargetType: "unit",
			TargetID: fmt.Sprint(id), UnitPath: after.Path, Before: before, After: after})
	})
	return out, err
}

// topUnitKept refuses changes to what the top unit of a narrow scope is
// (its code, kind, parent, whether it is active): that unit is the
// principal's own unit, the root of what it manages, and changing it would
// let a unit administrator rename or switch off the organisation it was
// given to run, which only a wider administrator may do. Its name and sort
// order stay editable; units below it stay fully editable.
func topUnitKept(before, after Unit, in UnitInput) error {
	refuse := func(field string) error {
		return &gql.Error{Code: gql.Forbidden, Field: field,
			Message: "不能修改本单位（您管理范围的顶级机构）的编码、类型、上级机构或启用状态，请联系上级管理员"}
	}
	switch {
	case after.Code != before.Code:
		return refuse("input.code")
	case after.Kind != before.Kind:
		return refuse("input.kind")
	case after.Active != before.Active:
		return refuse("input.active")
	case in.ParentID != nil && (before.ParentID == nil || *in.ParentID != *before.ParentID):
		return refuse("input.parentId")
	}
	return nil
}

// Post is a position (岗位) in a unit, granting roles to its holders.
type Post struct {
	ID     int64    `json:"id"`
	UnitID int64    `json:"unitId"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
}

// Posts lists the posts of a unit in scope.
func (s *Service) Posts(ctx context.Context, p *Principal, unitID int64) ([]Post, error) {
	args := []any{unitID}
	rows, err := s.pool.Query(ctx, `SELECT p.id, p.unit_id, p.name, p.roles FROM posts p JOIN units un ON un.id = p.unit_id
		WHERE p.unit_id = $1 AND `+p.ScopeSQL("un.path", &args)+` ORDER BY p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing posts: %w", err)
	}
	posts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Post])
	if err != nil {
		return nil, fmt.Errorf("listing posts: %w", err)
	}
	return posts, nil
}

// CreatePost adds a post to a unit in scope.
func (s *Service) CreatePost(ctx context.Context, p *Principal, unitID int64, name string, roles []string) (Post, error) {
	p, err := p.For(PermOrgManage)
	if err != nil {
		return Post{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return Post{}, gql.FieldError("name", "请填写岗位名称")
	}
	if err := s.checkGrant(p, roles, "roles"); err != nil {
		return Post{}, err
	}
	var out Post
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := s.unit(ctx, tx, p, unitID)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO posts (unit_id, name, roles) VALUES ($1, $2, $3) RETURNING id, unit_id, name, roles`,
			unitID, name, roles).Scan(&out.ID, &out.UnitID, &out.Name, &out.Roles)
		if store.IsUniqueViolation(err) {
			return &gql.Error{Code: gql.Conflict, Field: "name", Message: fmt.Sprintf("岗位 %s 已存在", name), Err: err}
		}
		if err != nil {
			return fmt.Errorf("creating post: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "post.create", TargetType: "post",
			TargetID: fmt.Sprint(out.ID), UnitPath: u.Path, After: out})
	})
	return out, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}
