package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
)

// bootstrapLockKey serialises first-start bootstrap across nodes.
const bootstrapLockKey int64 = 0x686f746c696e66

// RootUnitCode is the code of the unit created on first start; seed data
// may rename it (a city's name) by listing a unit with this code.
const RootUnitCode = "root"

// Bootstrap makes sure the organisation has a root unit and an "admin"
// account holding adminRole. password is used when the account is created;
// when empty a password is generated, returned (to be printed once) and
// must be changed at first login.
func (s *Service) Bootstrap(ctx context.Context, rootName, adminRole, password string) (created bool, generated string, err error) {
	role, ok := s.roles()[adminRole]
	if !ok || role.Scope != ScopeAll {
		return false, "", fmt.Errorf("bootstrap: the configuration must define role %q with scope all for the first administrator", adminRole)
	}
	mustChange := false
	if password == "" {
		password, mustChange = GeneratePassword(), true
		generated = password
	} else if msg := s.policy.Password.Check("admin", password); msg != "" {
		return false, "", fmt.Errorf("bootstrap: HOTLINE_ADMIN_PASSWORD does not meet the password policy: %s", msg)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, "", err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bootstrapLockKey); err != nil {
			return fmt.Errorf("bootstrap: taking lock: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE username = 'admin')`).Scan(&exists); err != nil {
			return fmt.Errorf("bootstrap: checking for admin: %w", err)
		}
		if exists {
			return nil
		}
		root, err := s.ensureRoot(ctx, tx, rootName)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO users (username, display_name, unit_id, password_hash, must_change_password)
			VALUES ('admin', '系统管理员', $1, $2, $3) RETURNING id`, root.ID, hash, mustChange).Scan(&id); err != nil {
			return fmt.Errorf("bootstrap: creating admin: %w", err)
		}
		if err := setRoles(ctx, tx, id, []string{adminRole}); err != nil {
			return err
		}
		created = true
		return audit.Write(ctx, tx, audit.Entry{Actor: audit.System, Action: "user.create", TargetType: "user",
			TargetID: fmt.Sprint(id), UnitPath: root.Path, After: map[string]any{"username": "admin", "roles": []string{adminRole}}})
	})
	if err != nil || !created {
		return created, "", err
	}
	return created, generated, nil
}

func (s *Service) ensureRoot(ctx context.Context, tx pgx.Tx, name string) (Unit, error) {
	rows, err := tx.Query(ctx, `SELECT `+unitColumns+` FROM units WHERE code = $1`, RootUnitCode)
	if err != nil {
		return Unit{}, fmt.Errorf("bootstrap: reading root unit: %w", err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUnit)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Unit{}, fmt.Errorf("bootstrap: reading root unit: %w", err)
	}
	u, err = insertUnit(ctx, tx, RootUnitCode, name, "root", nil, "/", 0, 0)
	if err != nil {
		return Unit{}, err
	}
	return u, audit.Write(ctx, tx, audit.Entry{Actor: audit.System, Action: "unit.create", TargetType: "unit",
		TargetID: fmt.Sprint(u.ID), UnitPath: u.Path, After: u})
}

// Seed is organisation data loaded from a file: units (a tree) and users.
// Loading is idempotent: units are matched by code and users by username;
// existing users are left as they are.
type Seed struct {
	Units []SeedUnit `yaml:"units"`
	Users []SeedUser `yaml:"users"`
}

// SeedUnit is a unit with its children.
type SeedUnit struct {
	Code     string     `yaml:"code"`
	Name     string     `yaml:"name"`
	Kind     string     `yaml:"kind"`
	Children []SeedUnit `yaml:"children"`
}

// SeedUser is an account placed in a unit by code.
type SeedUser struct {
	Username    string   `yaml:"username"`
	DisplayName string   `yaml:"displayName"`
	Unit        string   `yaml:"unit"`
	Phone       string   `yaml:"phone"`
	Roles       []string `yaml:"roles"`
}

// ParseSeed decodes seed files, rejecting unknown keys so a typo in a data
// file is not silently ignored.
// A `kind: organisation` document is a seed file too: its kind, name
// and label are read past.
func ParseSeed(name string, data []byte) (Seed, error) {
	var doc struct {
		Kind  string `yaml:"kind"`
		Name  string `yaml:"name"`
		Label string `yaml:"label"`
		Seed  `yaml:",inline"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Seed{}, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != "" && doc.Kind != KindOrganisation {
		return Seed{}, fmt.Errorf("%s: a seed file is units and users, or a kind: %s document, not kind: %s", name, KindOrganisation, doc.Kind)
	}
	return doc.Seed, nil
}

// LoadSeed creates what the seed lists and does not exist yet, as the
// system actor, with one audit row per created unit or user, all in one
// transaction. password is given to created users.
func (s *Service) LoadSeed(ctx context.Context, sd Seed, password string) (units, users int, err error) {
	hash, err := HashPassword(password)
	if err != nil {
		return 0, 0, err
	}
	defs := s.roles()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Several nodes started with --demo load the same seed; one at a
		// time, so they do not race on unit codes.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bootstrapLockKey); err != nil {
			return fmt.Errorf("seed: taking lock: %w", err)
		}
		units, users = 0, 0
		var walk func(parent *Unit, list []SeedUnit) error
		walk = func(parent *Unit, list []SeedUnit) error {
			for i, su := range list {
				u, made, err := seedUnit(ctx, tx, parent, su, i)
				if err != nil {
					return err
				}
				if made {
					units++
				}
				if err := walk(&u, su.Children); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(nil, sd.Units); err != nil {
			return err
		}
		for _, su := range sd.Users {
			for _, r := range su.Roles {
				if _, ok := defs[r]; !ok {
					return fmt.Errorf("seed user %s: role %q is not defined in the configuration", su.Username, r)
				}
			}
			var unitID int64
			var unitPath string
			if err := tx.QueryRow(ctx, `SELECT id, path FROM units WHERE code = $1`, su.Unit).Scan(&unitID, &unitPath); err != nil {
				return fmt.Errorf("seed user %s: unit %q: %w", su.Username, su.Unit, err)
			}
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO users (username, display_name, unit_id, phone, password_hash)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id`,
				strings.ToLower(su.Username), su.DisplayName, unitID, su.Phone, hash).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("seed user %s: %w", su.Username, err)
			}
			if err := setRoles(ctx, tx, id, su.Roles); err != nil {
				return err
			}
			users++
			if err := audit.Write(ctx, tx, audit.Entry{Actor: audit.System, Action: "user.create", TargetType: "user",
				TargetID: fmt.Sprint(id), UnitPath: unitPath, After: su}); err != nil {
				return err
			}
		}
		return nil
	})
	return units, users, err
}

func seedUnit(ctx context.Context, tx pgx.Tx, parent *Unit, su SeedUnit, sort int) (Unit, bool, error) {
	if su.Code == "" || su.Name == "" || su.Kind == "" {
		return Unit{}, false, gql.Errorf(gql.BadUserInput, "seed unit %q: code, name and kind are required", su.Name)
	}
	rows, err := tx.Query(ctx, `SELECT `+unitColumns+` FROM units WHERE code = $1`, su.Code)
	if err != nil {
		return Unit{}, false, fmt.Errorf("seed unit %s: %w", su.Code, err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, scanUnit)
	switch {
	case err == nil:
		if su.Code == RootUnitCode && (u.Name != su.Name || u.Kind != su.Kind) {
			// The first start named the root generically; the seed knows
			// what the organisation is really called.
			if _, err := tx.Exec(ctx, `UPDATE units SET name = $2, kind = $3, updated_at = now() WHERE id = $1`, u.ID, su.Name, su.Kind); err != nil {
				return Unit{}, false, fmt.Errorf("seed unit %s: %w", su.Code, err)
			}
			before := u
			u.Name, u.Kind = su.Name, su.Kind
			return u, false, audit.Write(ctx, tx, audit.Entry{Actor: audit.System, Action: "unit.update", TargetType: "unit",
				TargetID: fmt.Sprint(u.ID), UnitPath: u.Path, Before: before, After: u})
		}
		return u, false, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return Unit{}, false, fmt.Errorf("seed unit %s: %w", su.Code, err)
	}
	parentPath, depth := "/", 0
	var parentID *int64
	if parent != nil {
		parentPath, depth, parentID = parent.Path, parent.Depth+1, &parent.ID
	}
	u, err = insertUnit(ctx, tx, su.Code, su.Name, su.Kind, parentID, parentPath, depth, sort)
	if err != nil {
		return Unit{}, false, err
	}
	return u, true, audit.Write(ctx, tx, audit.Entry{Actor: audit.System, Action: "unit.create", TargetType: "unit",
		TargetID: fmt.Sprint(u.ID), UnitPath: u.Path, After: u})
}
