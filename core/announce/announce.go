// Package announce holds announcements (公告, spec W-6, P-16): a leader
// publishes a title and body to an audience — roles, units, users — that
// every addressed user must acknowledge (我已阅读). The audience is resolved
// into recipients in the publishing transaction, which also writes the
// audit row and one outbox row (topic announcement); delivering that row
// writes each recipient's notice (Handler), so the notice centre's bell
// and live subscription show an announcement like any other notice.
// Acknowledgements are kept per recipient with their time, and the
// publisher sees how many of the recipients have acknowledged and who
// has not.
package announce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/registry"
)

// PermPublish lets a principal publish announcements to the users of its
// data scope and follow their acknowledgement (registered by identity, so
// every program loading the shipped roles knows it).
var PermPublish = identity.PermAnnouncementPublish

// Topic is the outbox topic of a published announcement.
const Topic = "announcement"

// Levels are the levels of an announcement, those of every notice: the
// web UI pops up warning and urgent ones and sounds urgent ones.
var Levels = []string{"info", "warning", "urgent"}

// Bounds of the input.
const (
	MaxTitle = 100  // characters
	MaxBody  = 5000 // characters
	MaxRoles = 50
	MaxUnits = 200
	MaxUsers = 500
	// MaxRecipients is the most users one announcement reaches: the
	// whole staff of a large centre and its departments.
	MaxRecipients = 20000
	// MaxLifetime is the furthest expiry.
	MaxLifetime = 366 * 24 * time.Hour
	// DefaultList and MaxList bound the lists (first).
	DefaultList = 50
	MaxList     = 200
)

// Input is what a publisher fills in. The audience is the users holding
// one of Roles (directly or through a post) in one of Units or below them
// — either left empty does not narrow — together with the named Users;
// only active accounts in the publisher's scope are addressed.
type Input struct {
	Title, Body, Level  string
	Roles, Units, Users []string
	ExpiresAt           *time.Time
}

// Audience is an announcement's audience as published.
type Audience struct {
	Roles []string `json:"roles"`
	Units []string `json:"units"`
	Users []string `json:"users"`
}

// Announcement is one announcement; Acknowledged and Total count its
// recipients, AcknowledgedAt is the reader's own acknowledgement.
type Announcement struct {
	ID             int64
	Title          string
	Body           string
	Level          string
	Audience       Audience
	PublisherID    int64
	Publisher      string // display name
	UnitPath       string
	CreatedAt      time.Time
	ExpiresAt      *time.Time
	Total          int
	Acknowledged   int
	AcknowledgedAt *time.Time
	// Recipient is whether the reader is one of the recipients.
	Recipient bool
}

// Recipient is a user an announcement was sent to.
type Recipient struct {
	UserID         int64
	Username       string
	DisplayName    string
	Unit           string
	AcknowledgedAt *time.Time
}

// Service publishes, lists and acknowledges announcements.
type Service struct {
	Pool *pgxpool.Pool
	// Role reports whether the running configuration defines a role;
	// nil accepts every name.
	Role func(name string) bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// RolesFrom is Service.Role reading the running configuration.
func RolesFrom(rt *registry.Runtime) func(string) bool {
	return func(name string) bool {
		set := rt.Current()
		if set == nil {
			return false
		}
		return slices.ContainsFunc(set.All(identity.KindRole), func(d *registry.Document) bool { return d.Name == name })
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// check validates in, trimmed, against the bounds; errors name the field.
func (s *Service) check(in *Input) error {
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(in.Body)
	switch n := utf8.RuneCountInString(in.Title); {
	case n == 0:
		return gql.FieldError("input.title", "请填写公告标题")
	case n > MaxTitle:
		return gql.FieldError("input.title", "标题最多 %d 个字（现有 %d 个）", MaxTitle, n)
	}
	switch n := utf8.RuneCountInString(in.Body); {
	case n == 0:
		return gql.FieldError("input.body", "请填写公告内容")
	case n > MaxBody:
		return gql.FieldError("input.body", "内容最多 %d 个字（现有 %d 个）", MaxBody, n)
	}
	if in.Level == "" {
		in.Level = "info"
	}
	if !slices.Contains(Levels, in.Level) {
		return gql.FieldError("input.level", "级别须为 %s 之一", strings.Join(Levels, "、"))
	}
	lists := []struct {
		field string
		list  *[]string
		max   int
	}{{"input.roles", &in.Roles, MaxRoles}, {"input.units", &in.Units, MaxUnits}, {"input.users", &in.Users, MaxUsers}}
	for _, l := range lists {
		if len(*l.list) > l.max {
			return gql.FieldError(l.field, "最多 %d 项（现有 %d 项）", l.max, len(*l.list))
		}
		out := make([]string, 0, len(*l.list))
		for _, v := range *l.list {
			v = strings.TrimSpace(v)
			if v == "" {
				return gql.FieldError(l.field, "不能有空项")
			}
			if utf8.RuneCountInString(v) > 64 {
				return gql.FieldError(l.field, "“%s…”过长", string([]rune(v)[:16]))
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		*l.list = out
	}
	if len(in.Roles)+len(in.Units)+len(in.Users) == 0 {
		return gql.FieldError("input.roles", "请选择接收的角色、单位或人员")
	}
	if s.Role != nil {
		for _, r := range in.Roles {
			if !s.Role(r) {
				return gql.FieldError("input.roles", "没有名为 %s 的角色", r)
			}
		}
	}
	if in.ExpiresAt != nil {
		now := s.now()
		if !in.ExpiresAt.After(now) {
			return gql.FieldError("input.expiresAt", "截止时间须晚于现在")
		}
		if in.ExpiresAt.Sub(now) > MaxLifetime {
			return gql.FieldError("input.expiresAt", "截止时间最多在一年之后")
		}
	}
	return nil
}

// Publish checks in, resolves its audience in the publisher's scope and
// stores the announcement with its recipients, audit row and outbox row
// in one transaction.
func (s *Service) Publish(ctx context.Context, p *identity.Principal, in Input) (Announcement, error) {
	p, err := p.For(PermPublish)
	if err != nil {
		return Announcement{}, err
	}
	if err := s.check(&in); err != nil {
		return Announcement{}, err
	}
	var a Announcement
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := known(ctx, tx, "input.units", `SELECT code FROM units WHERE code = ANY($1)`, in.Units, "没有编码为 %s 的单位"); err != nil {
			return err
		}
		if err := known(ctx, tx, "input.users", `SELECT username FROM users WHERE username = ANY($1)`, in.Users, "没有用户名为 %s 的账户"); err != nil {
			return err
		}
		audience := Audience{Roles: in.Roles, Units: in.Units, Users: in.Users}
		err := tx.QueryRow(ctx, `INSERT INTO announcements (title, body, level, audience, publisher_id, unit_path, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
			in.Title, in.Body, in.Level, audience, p.UserID, p.UnitPath, in.ExpiresAt).Scan(&a.ID, &a.CreatedAt)
		if err != nil {
			return fmt.Errorf("storing the announcement: %w", err)
		}
		args := []any{a.ID, in.Roles, in.Units, in.Users}
		scope := p.ScopeSQL("un.path", &args)
		tag, err := tx.Exec(ctx, `INSERT INTO announcement_recipients (announcement_id, user_id)
			SELECT $1, u.id FROM users u JOIN units un ON un.id = u.unit_id
			WHERE NOT u.disabled AND `+scope+` AND (
				(cardinality($2::text[]) + cardinality($3::text[]) > 0
				 AND (cardinality($2::text[]) = 0 OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ANY($2))
				      OR EXISTS (SELECT 1 FROM user_posts up JOIN posts po ON po.id = up.post_id WHERE up.user_id = u.id AND po.roles && $2::text[]))
				 AND (cardinality($3::text[]) = 0 OR EXISTS (SELECT 1 FROM units a WHERE a.code = ANY($3) AND left(un.path, length(a.path)) = a.path)))
				OR u.username = ANY($4))
			LIMIT `+strconv.Itoa(MaxRecipients+1), args...)
		if err != nil {
			return fmt.Errorf("addressing the announcement: %w", err)
		}
		switch n := tag.RowsAffected(); {
		case n == 0:
			return gql.FieldError("input.roles", "所选的角色、单位和人员中没有您可以发送的在用账户")
		case n > MaxRecipients:
			return gql.FieldError("input.roles", "接收人超过 %d 人，请缩小范围", MaxRecipients)
		default:
			a.Total = int(n)
		}
		payload, err := json.Marshal(map[string]any{"announcement": a.ID, "title": in.Title, "level": in.Level})
		if err != nil {
			return fmt.Errorf("encoding the announcement's outbox row: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, Topic, payload); err != nil {
			return fmt.Errorf("writing the announcement's outbox row: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "announcement.publish", TargetType: "announcement",
			TargetID: strconv.FormatInt(a.ID, 10), UnitPath: p.UnitPath,
			After: map[string]any{"title": in.Title, "level": in.Level, "audience": audience, "expiresAt": in.ExpiresAt, "recipients": a.Total}})
	})
	if err != nil {
		return Announcement{}, err
	}
	a.Title, a.Body, a.Level, a.ExpiresAt = in.Title, in.Body, in.Level, in.ExpiresAt
	a.Audience = Audience{Roles: in.Roles, Units: in.Units, Users: in.Users}
	a.PublisherID, a.Publisher, a.UnitPath = p.UserID, p.DisplayName, p.UnitPath
	return a, nil
}

// known returns a field error naming the first of names that query (one
// text column, the names found) does not find.
func known(ctx context.Context, tx pgx.Tx, field, query string, names []string, missing string) error {
	if len(names) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, query, names)
	if err != nil {
		return fmt.Errorf("checking %s: %w", field, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("checking %s: %w", field, err)
	}
	for _, n := range names {
		if !slices.Contains(found, n) {
			return gql.FieldError(field, missing, n)
		}
	}
	return nil
}

const columns = `a.id, a.title, a.body, a.level, a.audience, a.publisher_id, pu.display_name, a.unit_path, a.created_at, a.expires_at,
	(SELECT count(*) FROM announcement_recipients r WHERE r.announcement_id = a.id),
	(SELECT count(*) FROM announcement_recipients r WHERE r.announcement_id = a.id AND r.acknowledged_at IS NOT NULL)`

func scan(rows pgx.Rows, mine bool) ([]Announcement, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Announcement, error) {
		var a Announcement
		dest := []any{&a.ID, &a.Title, &a.Body, &a.Level, &a.Audience, &a.PublisherID, &a.Publisher, &a.UnitPath, &a.CreatedAt, &a.ExpiresAt, &a.Total, &a.Acknowledged}
		if mine {
			dest = append(dest, &a.AcknowledgedAt)
			a.Recipient = true
		}
		err := r.Scan(dest...)
		return a, err
	})
}

// Mine lists the unexpired announcements sent to the principal, the
// unacknowledged ones first, then newest first; unacknowledged narrows to
// those.
func (s *Service) Mine(ctx context.Context, p *identity.Principal, unacknowledged bool, limit int) ([]Announcement, error) {
	where := ``
	if unacknowledged {
		where = ` AND me.acknowledged_at IS NULL`
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+columns+`, me.acknowledged_at FROM announcement_recipients me
		JOIN announcements a ON a.id = me.announcement_id JOIN users pu ON pu.id = a.publisher_id
		WHERE me.user_id = $1 AND (a.expires_at IS NULL OR a.expires_at > $2)`+where+`
		ORDER BY me.acknowledged_at IS NOT NULL, a.id DESC LIMIT $3`, p.UserID, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("reading my announcements: %w", err)
	}
	out, err := scan(rows, true)
	if err != nil {
		return nil, fmt.Errorf("reading my announcements: %w", err)
	}
	return out, nil
}

// Published lists the announcements published in the principal's scope
// for announcement.publish, newest first, expired ones included.
func (s *Service) Published(ctx context.Context, p *identity.Principal, limit int) ([]Announcement, error) {
	p, err := p.For(PermPublish)
	if err != nil {
		return nil, err
	}
	args := []any{limit}
	scope := p.ScopeSQL("a.unit_path", &args)
	rows, err := s.Pool.Query(ctx, `SELECT `+columns+` FROM announcements a JOIN users pu ON pu.id = a.publisher_id
		WHERE `+scope+` ORDER BY a.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading published announcements: %w", err)
	}
	out, err := scan(rows, false)
	if err != nil {
		return nil, fmt.Errorf("reading published announcements: %w", err)
	}
	return out, nil
}

// Recipients lists up to limit of announcement id's recipients who have
// not acknowledged it, by unit and name, or (acknowledged) those who have,
// the latest first. Only a publisher whose scope holds the announcement sees it.
func (s *Service) Recipients(ctx context.Context, p *identity.Principal, id int64, acknowledged bool, limit int) ([]Recipient, error) {
	p, err := p.For(PermPublish)
	if err != nil {
		return nil, err
	}
	args := []any{id, limit}
	scope := p.ScopeSQL("a.unit_path", &args)
	order := `r.acknowledged_at IS NULL ORDER BY un.path, u.username`
	if acknowledged {
		order = `r.acknowledged_at IS NOT NULL ORDER BY r.acknowledged_at DESC, u.username`
	}
	rows, err := s.Pool.Query(ctx, `SELECT u.id, u.username, u.display_name, un.name, r.acknowledged_at
		FROM announcement_recipients r JOIN announcements a ON a.id = r.announcement_id
		JOIN users u ON u.id = r.user_id JOIN units un ON un.id = u.unit_id
		WHERE r.announcement_id = $1 AND `+scope+` AND `+order+` LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the recipients of announcement %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recipient, error) {
		var x Recipient
		err := r.Scan(&x.UserID, &x.Username, &x.DisplayName, &x.Unit, &x.AcknowledgedAt)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the recipients of announcement %d: %w", id, err)
	}
	return out, nil
}

func errNotFound(id int64) error {
	return gql.Errorf(gql.NotFound, "没有发给您的编号为 %d 的公告", id)
}

// Acknowledge records that the principal has read announcement id (once:
// a second call changes nothing and returns the first time), marks its
// notice read, and writes the audit row, in one transaction.
func (s *Service) Acknowledge(ctx context.Context, p *identity.Principal, id int64) (Announcement, error) {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var expires *time.Time
		var before *time.Time
		err := tx.QueryRow(ctx, `SELECT a.expires_at, r.acknowledged_at FROM announcement_recipients r JOIN announcements a ON a.id = r.announcement_id
			WHERE r.announcement_id = $1 AND r.user_id = $2 FOR UPDATE OF r`, id, p.UserID).Scan(&expires, &before)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("reading announcement %d: %w", id, err)
		}
		if before != nil {
			return nil
		}
		now := s.now()
		if expires != nil && !expires.After(now) {
			return gql.FieldError("id", "公告已过期")
		}
		if _, err := tx.Exec(ctx, `UPDATE announcement_recipients SET acknowledged_at = $3 WHERE announcement_id = $1 AND user_id = $2`, id, p.UserID, now); err != nil {
			return fmt.Errorf("acknowledging announcement %d: %w", id, err)
		}
		// The notice that brought it is read too: the bell's count follows.
		if _, err := tx.Exec(ctx, `UPDATE notices SET read_at = $3 WHERE user_id = $1 AND read_at IS NULL AND payload->>'announcement' = $2`,
			p.UserID, strconv.FormatInt(id, 10), now); err != nil {
			return fmt.Errorf("marking the notice of announcement %d read: %w", id, err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "announcement.acknowledge", TargetType: "announcement",
			TargetID: strconv.FormatInt(id, 10), UnitPath: p.UnitPath, After: map[string]any{"acknowledgedAt": now}})
	})
	if err != nil {
		return Announcement{}, err
	}
	return s.one(ctx, p, id)
}

// one reads announcement id as recipient p sees it.
func (s *Service) one(ctx context.Context, p *identity.Principal, id int64) (Announcement, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+columns+`, me.acknowledged_at FROM announcement_recipients me
		JOIN announcements a ON a.id = me.announcement_id JOIN users pu ON pu.id = a.publisher_id
		WHERE me.user_id = $1 AND a.id = $2`, p.UserID, id)
	if err != nil {
		return Announcement{}, fmt.Errorf("reading announcement %d: %w", id, err)
	}
	list, err := scan(rows, true)
	if err != nil {
		return Announcement{}, fmt.Errorf("reading announcement %d: %w", id, err)
	}
	if len(list) == 0 {
		return Announcement{}, errNotFound(id)
	}
	return list[0], nil
}

// Handler is the outbox handler of topic announcement: it writes the
// announcement's notice to each of its recipients who has not
// acknowledged it yet, so the bell and the live subscription show it.
func Handler() outbox.Handler {
	return outbox.HandlerFunc(func(ctx context.Context, tx pgx.Tx, m outbox.Message) error {
		var p struct {
			Announcement int64  `json:"announcement"`
			Title        string `json:"title"`
			Level        string `json:"level"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || p.Announcement == 0 {
			return outbox.Permanent(fmt.Errorf("reading announcement row %d: %v", m.ID, err))
		}
		if p.Level == "" {
			p.Level = "info"
		}
		return outbox.StoreNotices(ctx, tx, m, p.Level, "公告："+p.Title,
			`SELECT r.user_id AS id FROM announcement_recipients r JOIN users u ON u.id = r.user_id
				WHERE r.announcement_id = $8 AND r.acknowledged_at IS NULL AND NOT u.disabled`, p.Announcement)
	})
}
