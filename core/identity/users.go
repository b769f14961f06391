package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/store"
)

// User is an account as administrators see it (never its password hash).
type User struct {
	ID                 int64      `json:"id"`
	Username           string     `json:"username"`
	DisplayName        string     `json:"displayName"`
	UnitID             int64      `json:"unitId"`
	UnitPath           string     `json:"unitPath"`
	Phone              string     `json:"phone"`
	Level              int        `json:"level"`
	Disabled           bool       `json:"disabled"`
	LockedUntil        *time.Time `json:"lockedUntil"`
	MustChangePassword bool       `json:"mustChangePassword"`
	Roles              []string   `json:"roles"`
	PostIDs            []int64    `json:"postIds"`
	CreatedAt          time.Time  `json:"-"`
}

const userSelect = `SELECT u.id, u.username, u.display_name, u.unit_id, un.path, u.phone, u.level, u.disabled, u.locked_until,
	u.must_change_password, ARRAY(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role),
	ARRAY(SELECT post_id FROM user_posts WHERE user_id = u.id ORDER BY post_id), u.created_at
	FROM users u JOIN units un ON un.id = u.unit_id`

func scanUser(row pgx.CollectableRow) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.UnitID, &u.UnitPath, &u.Phone, &u.Level, &u.Disabled,
		&u.LockedUntil, &u.MustChangePassword, &u.Roles, &u.PostIDs, &u.CreatedAt)
	return u, err
}

// userScopeSQL limits user rows: by unit path, and for ScopeSelf to the
// principal's own account.
func userScopeSQL(p *Principal, args *[]any) string {
	if p.Scope == ScopeSelf {
		*args = append(*args, p.UserID)
		return fmt.Sprintf("u.id = $%d", len(*args))
	}
	return p.ScopeSQL("un.path", args)
}

// UserFilter narrows Users.
type UserFilter struct {
	UnitID *int64
	// Subunits includes users of units below UnitID.
	Subunits bool
	Search   string
	Role     string
	AfterID  int64
	Limit    int
}

// Users lists accounts in the principal's scope.
func (s *Service) Users(ctx context.Context, p *Principal, f UserFilter) ([]User, error) {
	p, err := p.For(PermUserRead)
	if err != nil {
		return nil, err
	}
	var args []any
	where := []string{userScopeSQL(p, &args)}
	if f.UnitID != nil {
		if f.Subunits {
			unit, err := s.unit(ctx, s.pool, p, *f.UnitID)
			if err != nil {
				return nil, err
			}
			args = append(args, store.EscapeLike(unit.Path)+"%")
			where = append(where, fmt.Sprintf("un.path LIKE $%d", len(args)))
		} else {
			args = append(args, *f.UnitID)
			where = append(where, fmt.Sprintf("u.unit_id = $%d", len(args)))
		}
	}
	if f.Search != "" {
		args = append(args, "%"+store.EscapeLike(strings.ToLower(f.Search))+"%")
		where = append(where, fmt.Sprintf("(u.username LIKE $%d OR lower(u.display_name) LIKE $%d OR u.phone LIKE $%d)", len(args), len(args), len(args)))
	}
	if f.Role != "" {
		args = append(args, f.Role)
		where = append(where, fmt.Sprintf("EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $%d)", len(args)))
	}
	if f.AfterID > 0 {
		args = append(args, f.AfterID)
		where = append(where, fmt.Sprintf("u.id > $%d", len(args)))
	}
	args = append(args, pageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, userSelect+` WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY u.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	users, err := pgx.CollectRows(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return users, nil
}

// User returns one account in scope. Anyone may read their own account.
func (s *Service) User(ctx context.Context, p *Principal, id int64) (User, error) {
	if id != p.UserID {
		var err error
		if p, err = p.For(PermUserRead); err != nil {
			return User{}, err
		}
	}
	return s.user(ctx, s.pool, p, id, false)
}

func (s *Service) user(ctx context.Context, q querier, p *Principal, id int64, lock bool) (User, error) {
	args := []any{id}
	scope := "TRUE"
	if p.UserID != id {
		scope = userScopeSQL(p, &args)
	}
	sql := userSelect + ` WHERE u.id = $1 AND ` + scope
	if lock {
		sql += ` FOR UPDATE OF u`
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return User{}, fmt.Errorf("reading user %d: %w", id, err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, gql.Errorf(gql.NotFound, "用户 %d 不存在或不在您的数据范围内", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("reading user %d: %w", id, err)
	}
	return u, nil
}

// UserInput creates or changes an account.
type UserInput struct {
	Username    *string
	DisplayName *string
	UnitID      *int64
	Phone       *string
	Level       *int
	Disabled    *bool
	Roles       []string
	// Password for a new account; empty generates a temporary one that
	// must be changed at first login.
	Password *string
}

// checkGrant refuses roles that do not exist and roles wider than the
// granting principal's own rights — a permission it lacks, or a scope wider
// than its own scope for that permission or for managing accounts — so a
// district administrator cannot mint (or take over) a city-wide account.
// p must already be narrowed to the managing permission (Principal.For).
func (s *Service) checkGrant(p *Principal, roles []string, field string) error {
	defs := s.roles()
	for _, r := range roles {
		def, ok := defs[r]
		if !ok {
			names := make([]string, 0, len(defs))
			for n := range defs {
				names = append(names, n)
			}
			slices.Sort(names)
			return gql.FieldError(field, "角色 %q 不存在（可用角色：%s）", r, strings.Join(names, ", "))
		}
		if scopeRank[def.Scope] > scopeRank[p.Scope] {
			return gql.Errorf(gql.Forbidden, "角色 %s（%s）的数据范围大于您的管理范围", def.Label, r)
		}
		for _, perm := range def.Permissions {
			held, ok := p.perms[perm.Name]
			if !ok || scopeRank[def.Scope] > scopeRank[held] {
				return gql.Errorf(gql.Forbidden, "角色 %s（%s）含有您没有的权限或范围：%s", def.Label, r, perm.Name)
			}
		}
	}
	return nil
}

var usernamePattern = func(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// CreatedUser is a new account and, when generated, its one-time password.
type CreatedUser struct {
	User              User
	TemporaryPassword string
}

// CreateUser adds an account to a unit in scope.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in UserInput) (CreatedUser, error) {
	p, err := p.For(PermUserManage)
	if err != nil {
		return CreatedUser{}, err
	}
	username := strings.ToLower(strings.TrimSpace(deref(in.Username)))
	display := strings.TrimSpace(deref(in.DisplayName))
	switch {
	case !usernamePattern(username):
		return CreatedUser{}, gql.FieldError("input.username", "用户名须为 2–64 位小写字母、数字、'_'、'.' 或 '-'")
	case display == "":
		return CreatedUser{}, gql.FieldError("input.displayName", "请填写姓名")
	case in.UnitID == nil:
		return CreatedUser{}, gql.FieldError("input.unitId", "请选择所属机构")
	}
	if err := s.checkGrant(p, in.Roles, "input.roles"); err != nil {
		return CreatedUser{}, err
	}
	var out CreatedUser
	password, mustChange := deref(in.Password), false
	if password == "" {
		password, mustChange = GeneratePassword(), true
		out.TemporaryPassword = password
	} else if msg := s.policy.Password.Check(username, password); msg != "" {
		return CreatedUser{}, gql.FieldError("input.password", "%s", msg)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return CreatedUser{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := s.unit(ctx, tx, p, *in.UnitID); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO users (username, display_name, unit_id, phone, level, password_hash, must_change_password, password_changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, username, display, *in.UnitID, deref(in.Phone),
			max(1, derefInt(in.Level)), hash, mustChange, s.Now()).Scan(&id)
		if store.IsUniqueViolation(err) {
			return &gql.Error{Code: gql.Conflict, Field: "input.username", Message: fmt.Sprintf("用户名 %s 已存在", username), Err: err}
		}
		if err != nil {
			return fmt.Errorf("creating user %s: %w", username, err)
		}
		if err := setRoles(ctx, tx, id, in.Roles); err != nil {
			return err
		}
		u, err := s.user(ctx, tx, p, id, false)
		if err != nil {
			return err
		}
		out.User = u
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "user.create", TargetType: "user",
			TargetID: fmt.Sprint(id), UnitPath: u.UnitPath, After: u})
	})
	if err != nil {
		return CreatedUser{}, err
	}
	return out, nil
}

func setRoles(ctx context.Context, tx pgx.Tx, userID int64, roles []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("replacing roles of user %d: %w", userID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role) SELECT $1, r FROM unnest($2::text[]) r ON CONFLICT DO NOTHING`, userID, roles); err != nil {
		return fmt.Errorf("replacing roles of user %d: %w", userID, err)
	}
	return nil
}

// mutateUser is the shared shape of every change to another account (or
// one's own): narrow to user.manage, lock the row in scope, refuse targets
// holding more than the principal could grant, apply, re-read, audit with
// before and after.
func (s *Service) mutateUser(ctx context.Context, p *Principal, id int64, action string, apply func(tx pgx.Tx, before User) error) (User, error) {
	if id != p.UserID {
		var err error
		if p, err = p.For(PermUserManage); err != nil {
			return User{}, err
		}
	}
	var out User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err := s.user(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := s.checkManageable(ctx, tx, p, id); err != nil {
			return err
		}
		if err := apply(tx, before); err != nil {
			return err
		}
		after, err := s.user(ctx, tx, p, id, false)
		if err != nil {
			return err
		}
		out = after
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: action, TargetType: "user",
			TargetID: fmt.Sprint(id), UnitPath: after.UnitPath, Before: before, After: after})
	})
	return out, err
}

// checkManageable is the rule for acting on another account (changing it,
// listing or ending its sessions): the account must hold nothing the
// principal could not grant, so nobody acts on an account wider than their
// own. p must already be narrowed to the managing permission and the
// account found in its scope; one's own account always passes.
func (s *Service) checkManageable(ctx context.Context, q querier, p *Principal, id int64) error {
	if id == p.UserID {
		return nil
	}
	var held []string
	if err := q.QueryRow(ctx, `SELECT `+effectiveRolesSQL+` FROM users u WHERE u.id = $1`, id).Scan(&held); err != nil {
		return fmt.Errorf("reading roles of user %d: %w", id, err)
	}
	if err := s.checkGrant(p, held, "id"); err != nil {
		return gql.Wrap(gql.Forbidden, err, "不能管理权限或数据范围大于自己的账户："+err.Error())
	}
	return nil
}

// UpdateUser changes an account's details; disabling it ends its sessions.
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id int64, in UserInput) (User, error) {
	p, err := p.For(PermUserManage)
	if err != nil {
		return User{}, err
	}
	if in.Username != nil {
		return User{}, gql.FieldError("input.username", "用户名创建后不能修改")
	}
	return s.mutateUser(ctx, p, id, "user.update", func(tx pgx.Tx, u User) error {
		if in.DisplayName != nil {
			u.DisplayName = strings.TrimSpace(*in.DisplayName)
			if u.DisplayName == "" {
				return gql.FieldError("input.displayName", "姓名不能为空")
			}
		}
		if in.UnitID != nil {
			if _, err := s.unit(ctx, tx, p, *in.UnitID); err != nil {
				return err
			}
			u.UnitID = *in.UnitID
		}
		if in.Phone != nil {
			u.Phone = strings.TrimSpace(*in.Phone)
		}
		if in.Level != nil {
			u.Level = max(1, *in.Level)
		}
		if in.Disabled != nil {
			if *in.Disabled && id == p.UserID {
				return gql.FieldError("input.disabled", "不能停用自己的账户")
			}
			u.Disabled = *in.Disabled
		}
		if in.Roles != nil {
			if err := s.checkGrant(p, in.Roles, "input.roles"); err != nil {
				return err
			}
			if err := setRoles(ctx, tx, id, in.Roles); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2, unit_id = $3, phone = $4, level = $5, disabled = $6, updated_at = now()
			WHERE id = $1`, id, u.DisplayName, u.UnitID, u.Phone, u.Level, u.Disabled); err != nil {
			return fmt.Errorf("updating user %d: %w", id, err)
		}
		if u.Disabled {
			return s.revokeSessions(ctx, tx, p, "session.revoke", revocation{userID: id})
		}
		return nil
	})
}

// SetUserPosts replaces the posts an account holds.
func (s *Service) SetUserPosts(ctx context.Context, p *Principal, id int64, postIDs []int64) (User, error) {
	p, err := p.For(PermUserManage)
	if err != nil {
		return User{}, err
	}
	return s.mutateUser(ctx, p, id, "user.set_posts", func(tx pgx.Tx, _ User) error {
		for _, pid := range postIDs {
			var roles []string
			args := []any{pid}
			err := tx.QueryRow(ctx, `SELECT p.roles FROM posts p JOIN units un ON un.id = p.unit_id WHERE p.id = $1 AND `+
				p.ScopeSQL("un.path", &args), args...).Scan(&roles)
			if errors.Is(err, pgx.ErrNoRows) {
				return gql.FieldError("postIds", "岗位 %d 不存在或不在您的数据范围内", pid)
			}
			if err != nil {
				return fmt.Errorf("reading post %d: %w", pid, err)
			}
			if err := s.checkGrant(p, roles, "postIds"); err != nil {
				return err
			}
		}
		// Posts in units outside the principal's scope are not its to take
		// away: only those it can see are replaced.
		args := []any{id}
		if _, err := tx.Exec(ctx, `DELETE FROM user_posts up USING posts p JOIN units un ON un.id = p.unit_id
			WHERE up.user_id = $1 AND up.post_id = p.id AND `+p.ScopeSQL("un.path", &args), args...); err != nil {
			return fmt.Errorf("replacing posts of user %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_posts (user_id, post_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, id, postIDs); err != nil {
			return fmt.Errorf("replacing posts of user %d: %w", id, err)
		}
		return nil
	})
}

// ResetPassword sets a new password chosen by an administrator (or a
// generated one when empty), forces a change at next login and ends the
// account's sessions. It returns the generated password, if any.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, id int64, password string) (User, string, error) {
	if err := p.Require(PermUserManage); err != nil {
		return User{}, "", err
	}
	if id == p.UserID {
		return User{}, "", gql.FieldError("id", "请使用修改密码功能修改自己的密码")
	}
	generated := ""
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	var hash string
	u, err := s.mutateUser(ctx, p, id, "user.reset_password", func(tx pgx.Tx, before User) error {
		if msg := s.policy.Password.Check(before.Username, password); msg != "" {
			return gql.FieldError("password", "%s", msg)
		}
		var err error
		if hash, err = HashPassword(password); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_password = true, password_changed_at = $3,
			failed_logins = 0, locked_until = NULL WHERE id = $1`, id, hash, s.Now()); err != nil {
			return fmt.Errorf("resetting password of user %d: %w", id, err)
		}
		// A reset may follow a takeover: the addresses the account was
		// used from are no longer trusted to be its owner's.
		if _, err := tx.Exec(ctx, `DELETE FROM login_sources WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("resetting password of user %d: %w", id, err)
		}
		return s.revokeSessions(ctx, tx, p, "session.revoke", revocation{userID: id})
	})
	return u, generated, err
}

// UnlockUser clears a lockout.
func (s *Service) UnlockUser(ctx context.Context, p *Principal, id int64) (User, error) {
	if err := p.Require(PermUserManage); err != nil {
		return User{}, err
	}
	return s.mutateUser(ctx, p, id, "user.unlock", func(tx pgx.Tx, _ User) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("unlocking user %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE login_sources SET failed_logins = 0, locked_until = NULL WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("unlocking user %d: %w", id, err)
		}
		return nil
	})
}

// ChangePassword lets a signed-in user replace their own password; their
// other sessions end. A wrong old password counts like a failed login.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, oldPassword, newPassword string) error {
	// The old password goes through the same gate as a login, so a stolen
	// session cannot be used to guess it, and the answer is the same
	// whether it was wrong or a lock or throttle refused it.
	source := sourceKey(gql.RequestInfoFrom(ctx).RemoteAddr)
	v, err := s.checkPassword(ctx, attemptChangePassword, p.Username, source, oldPassword, func(pgx.Tx, loginRow) error { return nil })
	if err != nil {
		return err
	}
	if v != rightPassword {
		return errOldPassword
	}
	if oldPassword == newPassword {
		return gql.FieldError("newPassword", "新密码不能与原密码相同")
	}
	if msg := s.policy.Password.Check(p.Username, newPassword); msg != "" {
		return gql.FieldError("newPassword", "%s", msg)
	}
	newHash, err := HashPassword(newPassword)
	if err != nil {
		return err
	}
	_, err = s.mutateUser(ctx, p, p.UserID, "user.change_password", func(tx pgx.Tx, _ User) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_password = false, password_changed_at = $3,
			failed_logins = 0 WHERE id = $1`, p.UserID, newHash, s.Now()); err != nil {
			return fmt.Errorf("changing password of user %d: %w", p.UserID, err)
		}
		return s.revokeSessions(ctx, tx, p, "session.revoke", revocation{userID: p.UserID, except: p.SessionID})
	})
	return err
}
