package knowledge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
)

// Version is a published version of an article.
type Version struct {
	Version     int            `json:"version"`
	Note        string         `json:"note"`
	PublishedBy string         `json:"publishedBy"`
	PublishedAt time.Time      `json:"publishedAt"`
	Fields      map[string]any `json:"fields"`
}

// Versions lists an article's published versions, newest first.
func (s *Service) Versions(ctx context.Context, id int64) ([]Version, error) {
	rows, err := s.Pool.Query(ctx, `SELECT version, note, published_by, published_at, fields FROM kb_versions WHERE ticket_id = $1 ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("reading versions of article %d: %w", id, err)
	}
	vs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Version, error) {
		var v Version
		err := row.Scan(&v.Version, &v.Note, &v.PublishedBy, &v.PublishedAt, &v.Fields)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading versions of article %d: %w", id, err)
	}
	if len(vs) == 0 {
		return nil, gql.Errorf(gql.NotFound, "知识 %d 没有发布过的版本", id)
	}
	return vs, nil
}

// Change is a field that differs between two versions, as readers read it.
type Change struct {
	Field  string `json:"field"`
	Label  string `json:"label"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Diff compares two published versions of an article field by field, and
// as a unified diff of their text (a rich text field one paragraph a line).
func (s *Service) Diff(ctx context.Context, id int64, from, to int) ([]Change, string, error) {
	vs, err := s.Versions(ctx, id)
	if err != nil {
		return nil, "", err
	}
	find := func(n int, field string) (Version, error) {
		i := slices.IndexFunc(vs, func(v Version) bool { return v.Version == n })
		if i < 0 {
			return Version{}, gql.FieldError(field, "知识 %d 没有版本 %d", id, n)
		}
		return vs[i], nil
	}
	a, err := find(from, "from")
	if err != nil {
		return nil, "", err
	}
	b, err := find(to, "to")
	if err != nil {
		return nil, "", err
	}
	var flowName string
	if err := s.Pool.QueryRow(ctx, `SELECT flow FROM tickets WHERE id = $1`, id).Scan(&flowName); err != nil {
		return nil, "", fmt.Errorf("reading article %d: %w", id, err)
	}
	fm, ok := flow.CreatingForm(s.Config.Current(), flowName)
	if !ok {
		return nil, "", fmt.Errorf("no form for the articles of flow %s", flowName)
	}
	var changes []Change
	var textA, textB []string
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		before, after := readable(fl, a.Fields[fl.Name]), readable(fl, b.Fields[fl.Name])
		textA = append(textA, section(fl.Label, before)...)
		textB = append(textB, section(fl.Label, after)...)
		if before != after {
			changes = append(changes, Change{Field: fl.Name, Label: fl.Label, Before: before, After: after})
		}
	}
	unified, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: textA, B: textB, FromFile: fmt.Sprintf("版本 %d", from), ToFile: fmt.Sprintf("版本 %d", to), Context: 2,
	})
	if err != nil {
		return nil, "", fmt.Errorf("comparing versions of article %d: %w", id, err)
	}
	if changes == nil {
		changes = []Change{}
	}
	return changes, unified, nil
}

// readable is a field's value as text: option labels, rich text's text.
func readable(fl *form.Field, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		switch fl.Type {
		case form.RichText:
			return form.PlainText(v)
		case form.Choice, form.Tree:
			return fl.OptionLabel(v)
		}
		return v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, "、")
	}
	return fmt.Sprint(v)
}

// section is a field as lines of a diff: its label, then its text.
func section(label, text string) []string {
	lines := []string{"【" + label + "】\n"}
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l+"\n")
		}
	}
	return lines
}
