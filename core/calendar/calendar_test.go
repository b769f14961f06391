package calendar_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/calendar"
	"github.com/hotline12345/hotline/core/registry"
)

// shipped loads the calendar the platform ships, so these tests also check
// its dates.
func shipped(t *testing.T) *calendar.Calendar {
	t.Helper()
	set, diags := registry.Load(context.Background(), []string{"../../flows/calendars/cn.yaml"}, registry.LoadOptions{})
	require.Empty(t, diags)
	c, ok := registry.Model[*calendar.Calendar](set, calendar.Kind, "cn")
	require.True(t, ok)
	return c
}

func at(t *testing.T, c *calendar.Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.Location())
	require.NoError(t, err)
	return v
}

func TestWorkingDays(t *testing.T) {
	c := shipped(t)
	for _, tc := range []struct {
		day     string
		workday bool
		name    string
	}{
		{"2026-01-02 09:00", false, "元旦"},
		{"2026-01-04 09:00", true, "元旦调休上班"}, // a Sunday worked
		{"2026-02-14 09:00", true, "春节调休上班"}, // a Saturday worked
		{"2026-02-15 09:00", false, "春节"},
		{"2026-02-23 23:59", false, "春节"}, // a Monday off
		{"2026-02-24 00:00", true, ""},
		{"2026-02-28 12:00", true, "春节调休上班"},
		{"2026-03-01 12:00", false, ""}, // an ordinary Sunday
		{"2026-10-10 08:00", true, "国庆节调休上班"},
		{"2025-10-08 08:00", false, "国庆节、中秋节"},
		{"2025-09-28 08:00", true, "国庆节调休上班"},
	} {
		d := at(t, c, tc.day)
		assert.Equal(t, tc.workday, c.IsWorkday(d), tc.day)
		assert.Equal(t, tc.name, c.Describe(d), tc.day)
	}
	// A moment is judged in the calendar's zone: 2026-02-23 17:00 UTC is
	// already Tuesday the 24th in Beijing.
	assert.True(t, c.IsWorkday(time.Date(2026, 2, 23, 17, 0, 0, 0, time.UTC)))
}

func TestDeadlines(t *testing.T) {
	c := shipped(t)
	for _, tc := range []struct {
		start string
		n     int
		want  string
	}{
		// Registered the Friday before Spring Festival: the Saturday 调休
		// counts, the nine days off do not.
		{"2026-02-13 10:00", 3, "2026-02-26 00:00"},
		// Counting starts the next day, whatever time the ticket came in.
		{"2026-03-02 23:59", 1, "2026-03-04 00:00"},
		{"2026-03-02 00:01", 1, "2026-03-04 00:00"},
		// Across National Day.
		{"2026-09-30 16:00", 1, "2026-10-09 00:00"},
		{"2026-10-09 16:00", 1, "2026-10-11 00:00"},
		// A complaint's 13 working days across Mid-Autumn and National Day,
		// with both adjusted Sundays/Saturdays worked.
		{"2026-09-18 11:00", 13, "2026-10-14 00:00"},
		// Same-day limits end at midnight, holiday or not.
		{"2026-02-16 08:00", 0, "2026-02-17 00:00"},
	} {
		got := c.Deadline(at(t, c, tc.start), tc.n)
		assert.Equal(t, at(t, c, tc.want), got, "%s + %d working days", tc.start, tc.n)
	}
}

func TestBeyondCoverageOnlyWeekendsCount(t *testing.T) {
	c := shipped(t)
	d := at(t, c, "2027-01-01 09:00")
	assert.False(t, c.Covered(d))
	assert.True(t, c.IsWorkday(d), "no 2027 holidays are listed yet")
	assert.True(t, c.Covered(at(t, c, "2026-12-31 09:00")))
}

// Deadlines never count a day off: for any start and limit, exactly n
// working days lie between the start's day and the deadline, and the last
// day before the deadline is one of them.
func TestDeadlinesCountOnlyWorkingDays(t *testing.T) {
	c := shipped(t)
	r := rand.New(rand.NewPCG(1, 2))
	first := at(t, c, "2025-01-01 00:00")
	for i := 0; i < 5000; i++ {
		start := first.Add(time.Duration(r.Int64N(int64(700 * 24 * time.Hour))))
		n := r.IntN(25)
		deadline := c.Deadline(start, n)
		assert.Equal(t, n, c.WorkdaysBetween(start, deadline.Add(-time.Nanosecond)), "%s + %d", start, n)
		if n > 0 {
			assert.True(t, c.IsWorkday(deadline.Add(-time.Nanosecond)), "%s + %d ends on a day off", start, n)
		}
		y, m, d := deadline.Date()
		assert.Equal(t, time.Date(y, m, d, 0, 0, 0, 0, c.Location()), deadline, "deadlines fall at midnight")
	}
}
