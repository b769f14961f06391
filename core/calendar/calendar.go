// Package calendar counts working days on a calendar file: weekends, public
// holidays and the adjusted working weekends (调休) that China announces
// each year. Ticket time limits ("3 working days") and business hours are
// computed on it; the dates themselves are configuration (kind: calendar),
// updated every November when the State Council publishes the next year.
package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// Kind is the configuration kind of calendars.
const Kind = "calendar"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Description: "A working-day calendar: weekends, public holidays and adjusted working days (调休).",
		Dir:         "flows",
		New:         func() any { return &Calendar{} },
		Spec:        registry.Spec{Examples: calendarExamples},
	})
}

// Date is a civil date written as 2026-02-15, kept with its position.
type Date struct {
	Y   int
	M   time.Month
	D   int
	Pos diag.Pos
}

// DecodeNode implements registry.NodeDecoder.
func (d *Date) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("expected a date like 2026-02-15, got %q", n.Value)
	}
	d.Y, d.M, d.D = t.Date()
	d.Pos = pos
	return nil
}

// JSONSchema describes a date as the string it is written as.
func (Date) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Format: "date"}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Y, d.M, d.D) }

// key is a comparable day number (days since 1970-01-01).
func (d Date) key() int64 { return dayKey(d.Y, d.M, d.D) }

func dayKey(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Holiday is a run of days off.
type Holiday struct {
	Pos  diag.Pos `yaml:"-"`
	Name string   `yaml:"name" jsonschema:"required"`
	From Date     `yaml:"from" jsonschema:"required"`
	To   Date     `yaml:"to" jsonschema:"required"`
}

// Workday is a weekend day worked in exchange for a longer holiday (调休).
type Workday struct {
	Name string `yaml:"name" jsonschema:"required"`
	Date Date   `yaml:"date" jsonschema:"required"`
}

// Calendar is a `kind: calendar` document.
type Calendar struct {
	Name     string `yaml:"name" jsonschema:"required"`
	Label    string `yaml:"label"`
	TimeZone string `yaml:"timezone" jsonschema:"description=IANA time zone; default Asia/Shanghai"`
	// Weekend lists the days off each week (default saturday, sunday).
	Weekend []string `yaml:"weekend"`
	// Covers says which dates the holiday lists are complete for. Outside
	// it only the weekend applies, so a calendar not yet updated for a new
	// year still counts (but without that year's holidays).
	Covers struct {
		From Date `yaml:"from" jsonschema:"required"`
		To   Date `yaml:"to" jsonschema:"required"`
	} `yaml:"covers" jsonschema:"required"`
	Holidays []Holiday `yaml:"holidays"`
	Workdays []Workday `yaml:"workdays"`

	loc     *time.Location
	weekend [7]bool
	off     map[int64]string // holiday days by key, with the holiday's name
	on      map[int64]string // adjusted working days by key
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Provision checks the calendar and indexes its days.
func (c *Calendar) Provision(rc *registry.Context) {
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		rc.Errorf(rc.At("timezone"), "timezone: unknown time zone %q", c.TimeZone)
		return
	}
	c.loc = loc
	if c.Weekend == nil {
		c.Weekend = []string{"saturday", "sunday"}
	}
	for i, w := range c.Weekend {
		wd, ok := weekdays[strings.ToLower(w)]
		if !ok {
			rc.Errorf(rc.At("weekend", i), "weekend: %q is not a day of the week (monday … sunday)", w)
			continue
		}
		c.weekend[wd] = true
	}
	if c.Covers.From.key() > c.Covers.To.key() {
		rc.Errorf(c.Covers.To.Pos, "covers: %s is before %s", c.Covers.To, c.Covers.From)
	}
	inCover := func(d Date) bool { return d.key() >= c.Covers.From.key() && d.key() <= c.Covers.To.key() }
	c.off, c.on = map[int64]string{}, map[int64]string{}
	for _, h := range c.Holidays {
		if h.From.key() > h.To.key() {
			rc.Errorf(h.To.Pos, "holiday %s: ends (%s) before it starts (%s)", h.Name, h.To, h.From)
			continue
		}
		if !inCover(h.From) || !inCover(h.To) {
			rc.Errorf(h.From.Pos, "holiday %s: outside the dates the calendar covers (%s to %s); extend covers", h.Name, c.Covers.From, c.Covers.To)
		}
		for k := h.From.key(); k <= h.To.key(); k++ {
			if prev, dup := c.off[k]; dup {
				rc.Errorf(h.From.Pos, "holiday %s overlaps holiday %s on %s", h.Name, prev, keyDate(k).Format(time.DateOnly))
			}
			c.off[k] = h.Name
		}
	}
	for _, w := range c.Workdays {
		k := w.Date.key()
		switch {
		case !inCover(w.Date):
			rc.Errorf(w.Date.Pos, "workday %s: outside the dates the calendar covers", w.Date)
		case c.off[k] != "":
			rc.Errorf(w.Date.Pos, "workday %s is also a day of holiday %s", w.Date, c.off[k])
		case !c.weekend[keyDate(k).Weekday()]:
			rc.Errorf(w.Date.Pos, "workday %s is a %s, a working day anyway: adjusted working days (调休) fall on weekends", w.Date, keyDate(k).Weekday())
		}
		c.on[k] = w.Name
	}
}

func keyDate(k int64) time.Time { return time.Unix(k*86400, 0).UTC() }

func (c *Calendar) dayOf(t time.Time) int64 {
	y, m, d := t.In(c.loc).Date()
	return dayKey(y, m, d)
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsWorkday reports whether the day containing t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool { return c.isWorkday(c.dayOf(t)) }

func (c *Calendar) isWorkday(k int64) bool {
	if _, ok := c.on[k]; ok {
		return true
	}
	if _, ok := c.off[k]; ok {
		return false
	}
	return !c.weekend[keyDate(k).Weekday()]
}

// Describe names the day containing t: the holiday or adjusted working day
// it belongs to, or "".
func (c *Calendar) Describe(t time.Time) string {
	k := c.dayOf(t)
	if n, ok := c.on[k]; ok {
		return n
	}
	return c.off[k]
}

// Covered reports whether the holiday lists are complete for t's day.
func (c *Calendar) Covered(t time.Time) bool {
	k := c.dayOf(t)
	return k >= c.Covers.From.key() && k <= c.Covers.To.key()
}

func (c *Calendar) startOf(k int64) time.Time {
	d := keyDate(k)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, c.loc)
}

// Deadline is the end of the n-th working day after the day containing
// start — the moment a time limit of n working days runs out, counted from
// the next day as 12345 time limits are. n = 0 is the end of start's own
// day (a same-day limit, whatever kind of day it is).
func (c *Calendar) Deadline(start time.Time, n int) time.Time {
	k := c.dayOf(start)
	for n > 0 {
		k++
		if c.isWorkday(k) {
			n--
		}
	}
	return c.startOf(k + 1)
}

// AddWorkingHours is h hours after start counting working days only: the
// hours of a day off do not count, so a two-hour limit started on a
// Saturday runs out at 02:00 of the next working day.
func (c *Calendar) AddWorkingHours(start time.Time, h int) time.Time {
	left := time.Duration(h) * time.Hour
	t := start.In(c.loc)
	for {
		k := c.dayOf(t)
		end := c.startOf(k + 1)
		if !c.isWorkday(k) {
			t = end
			continue
		}
		if span := end.Sub(t); left <= span {
			return t.Add(left)
		} else {
			left -= span
		}
		t = end
	}
}

// WorkdaysBetween counts the working days strictly after a's day up to and
// including b's day (0 when b is not after a).
func (c *Calendar) WorkdaysBetween(a, b time.Time) int {
	n := 0
	for k, end := c.dayOf(a)+1, c.dayOf(b); k <= end; k++ {
		if c.isWorkday(k) {
			n++
		}
	}
	return n
}

// WorkdaysBefore is the start of the n-th last working day before the
// deadline (the moment "n working days left" begins); n = 0 is the
// deadline itself.
func (c *Calendar) WorkdaysBefore(deadline time.Time, n int) time.Time {
	k := c.dayOf(deadline.Add(-time.Nanosecond)) + 1
	for n > 0 {
		k--
		if c.isWorkday(k) {
			n--
		}
	}
	return c.startOf(k)
}
