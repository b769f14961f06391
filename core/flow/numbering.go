package flow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/registry"
)

// Numbering is how a flow numbers its tickets: a prefix, the creation
// date in a pattern, and a running count of at least Digits digits that
// starts again for every new prefix and date (the stem):
//
//	numbering: {prefix: NM, date: YYYYMMDD, digits: 6}   # NM20260213000042
//
// Left out, a flow numbers as YYYYMMDD and six digits (20260213000042).
type Numbering struct {
	Prefix string `yaml:"prefix" jsonschema:"description=text before the date (letters, digits, - and _)"`
	// Date is a pattern of YYYY, YY, MM and DD and the separators - / . _;
	// "" leaves the date out (one count for ever). Nil means YYYYMMDD.
	Date   *string `yaml:"date" jsonschema:"description=the creation date as YYYY, YY, MM and DD with - / . _ between; empty for none (default YYYYMMDD)"`
	Digits int     `yaml:"digits" jsonschema:"minimum=1,maximum=12,description=the count's width, zero-padded (default 6)"`
}

// Defaults of a flow that says nothing of its numbering.
const (
	defaultNumberDate   = "YYYYMMDD"
	defaultNumberDigits = 6
)

var numberSeparators = "-/._"

func (n *Numbering) date() string {
	if n == nil || n.Date == nil {
		return defaultNumberDate
	}
	return *n.Date
}

func (n *Numbering) digits() int {
	if n == nil || n.Digits == 0 {
		return defaultNumberDigits
	}
	return n.Digits
}

// provision checks the prefix, the date pattern and the width, reporting
// at the flow's numbering key.
func (n *Numbering) provision(c *registry.Context) {
	if n == nil {
		return
	}
	for _, r := range n.Prefix {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			c.Errorf(c.At("numbering", "prefix"), "numbering.prefix %q: use letters, digits, - and _", n.Prefix)
			break
		}
	}
	if n.Digits < 0 || n.Digits > 12 {
		c.Errorf(c.At("numbering", "digits"), "numbering.digits %d: between 1 and 12", n.Digits)
	}
	tokens, err := dateTokens(n.date())
	if err != nil {
		c.Errorf(c.At("numbering", "date"), "numbering.date %q: %v", n.date(), err)
		return
	}
	has := map[string]bool{}
	for _, t := range tokens {
		has[t] = true
	}
	year := has["YYYY"] || has["YY"]
	switch {
	case has["DD"] && !(has["MM"] && year), has["MM"] && !year:
		// A count that starts again every day of a month but every
		// year would number two tickets alike.
		c.Errorf(c.At("numbering", "date"), "numbering.date %q: a day needs its month and year, a month its year", n.date())
	}
}

// dateTokens splits a date pattern into YYYY, YY, MM, DD and separators.
func dateTokens(p string) ([]string, error) {
	var out []string
	for p != "" {
		switch {
		case strings.HasPrefix(p, "YYYY"):
			out, p = append(out, "YYYY"), p[4:]
		case strings.HasPrefix(p, "YY"), strings.HasPrefix(p, "MM"), strings.HasPrefix(p, "DD"):
			out, p = append(out, p[:2]), p[2:]
		case strings.ContainsRune(numberSeparators, rune(p[0])):
			out, p = append(out, p[:1]), p[1:]
		default:
			return nil, fmt.Errorf("%q is not YYYY, YY, MM, DD or one of %s", p, numberSeparators)
		}
	}
	return out, nil
}

// Stem is the part of a number before the count: the prefix and the date
// of at. Tickets of one stem share a count.
func (n *Numbering) Stem(at time.Time) string {
	tokens, _ := dateTokens(n.date()) // checked at load
	var b strings.Builder
	b.WriteString(prefixOf(n))
	for _, t := range tokens {
		switch t {
		case "YYYY":
			fmt.Fprintf(&b, "%04d", at.Year())
		case "YY":
			fmt.Fprintf(&b, "%02d", at.Year()%100)
		case "MM":
			fmt.Fprintf(&b, "%02d", int(at.Month()))
		case "DD":
			fmt.Fprintf(&b, "%02d", at.Day())
		default:
			b.WriteString(t)
		}
	}
	return b.String()
}

func prefixOf(n *Numbering) string {
	if n == nil {
		return ""
	}
	return n.Prefix
}

// Number is the stem followed by the count, zero-padded.
func (n *Numbering) Number(stem string, count int) string {
	return fmt.Sprintf("%s%0*d", stem, n.digits(), count)
}

// NumberStem is the stem of a ticket of f created at (in the flow's zone).
func (f *Flow) NumberStem(at time.Time) string {
	return f.Numbering.Stem(at.In(f.Calendar().Location()))
}

// FormatNumber is the number of the count-th ticket of stem.
func (f *Flow) FormatNumber(stem string, count int) string { return f.Numbering.Number(stem, count) }

// Number allocates the number of a ticket of f created at now: the next
// count of its stem, in tx.
func (f *Flow) Number(ctx context.Context, tx pgx.Tx, now time.Time) (string, error) {
	stem := f.NumberStem(now)
	first, err := f.Reserve(ctx, tx, map[string]int{stem: 1})
	if err != nil {
		return "", err
	}
	return f.FormatNumber(stem, first[stem]), nil
}

// Reserve takes counts of several stems at once (how many tickets of
// each), in one statement, and returns each stem's first count; the demo
// generator numbers a batch with it.
func (f *Flow) Reserve(ctx context.Context, tx pgx.Tx, counts map[string]int) (map[string]int, error) {
	stems, ns := make([]string, 0, len(counts)), make([]int32, 0, len(counts))
	for s, n := range counts {
		stems, ns = append(stems, s), append(ns, int32(n))
	}
	rows, err := tx.Query(ctx, `INSERT INTO ticket_counters (stem, n) SELECT * FROM unnest($1::text[], $2::int[])
		ON CONFLICT (stem) DO UPDATE SET n = ticket_counters.n + EXCLUDED.n RETURNING stem, n`, stems, ns)
	if err != nil {
		return nil, fmt.Errorf("numbering tickets: %w", err)
	}
	defer rows.Close()
	first := map[string]int{}
	for rows.Next() {
		var stem string
		var last int
		if err := rows.Scan(&stem, &last); err != nil {
			return nil, fmt.Errorf("numbering tickets: %w", err)
		}
		first[stem] = last - counts[stem] + 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("numbering tickets: %w", err)
	}
	return first, nil
}
