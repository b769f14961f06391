package flow_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/registry"
)

// sampleWith loads the sample configuration with the request flow's
// calendar line followed by extra (a numbering), and the problems found.
func sampleWith(t *testing.T, extra string) (*registry.Set, []string) {
	t.Helper()
	dir := t.TempDir()
	src := "../../testdata/flows/sample"
	for _, f := range []string{"flows/base.yaml", "flows/request.yaml", "forms/request.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		text := string(b)
		if f == "flows/request.yaml" {
			text = strings.Replace(text, "calendar: cn\n", "calendar: cn\n"+extra, 1)
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644))
	}
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, strings.TrimPrefix(d.String(), dir+"/"))
	}
	return set, msgs
}

func TestNumberingFormatsAndLint(t *testing.T) {
	at := time.Date(2026, 2, 13, 23, 30, 0, 0, time.UTC) // 2026-02-14 in the flow's zone (+08:00)
	for _, tc := range []struct{ numbering, want string }{
		{"", "20260214000042"},
		{"numbering: {date: YYYYMMDD, digits: 6}\n", "20260214000042"},
		{"numbering: {prefix: NM, date: YYMM, digits: 4}\n", "NM26020042"},
		{"numbering: {prefix: RX-, date: YYYY-MM-DD}\n", "RX-2026-02-14000042"},
		{"numbering: {prefix: KB, date: \"\", digits: 8}\n", "KB00000042"},
	} {
		set, msgs := sampleWith(t, tc.numbering)
		require.Empty(t, msgs, tc.numbering)
		f, ok := registry.Model[*flow.Flow](set, flow.Kind, "request")
		require.True(t, ok)
		assert.Equal(t, tc.want, f.FormatNumber(f.NumberStem(at), 42), tc.numbering)
	}
	for _, tc := range []struct{ numbering, want string }{
		{"numbering: {date: YYYYMMDDhh}\n", `flows/request.yaml:5:19: numbering.date "YYYYMMDDhh": "hh" is not YYYY, YY, MM, DD or one of -/._`},
		{"numbering: {date: MMDD}\n", `flows/request.yaml:5:19: numbering.date "MMDD": a day needs its month and year, a month its year`},
		{"numbering: {prefix: 呼市}\n", `flows/request.yaml:5:21: numbering.prefix "呼市": use letters, digits, - and _`},
		{"numbering: {digits: 20}\n", `flows/request.yaml:5:21: numbering.digits 20: between 1 and 12`},
	} {
		_, msgs := sampleWith(t, tc.numbering)
		assert.Equal(t, []string{tc.want}, msgs)
	}
}

// A count belongs to the number's stem: a monthly pattern counts on across
// the days of a month and starts again the next month.
func TestTicketNumbersFollowTheFlowsNumbering(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	set, msgs := sampleWith(t, "numbering: {prefix: NM, date: YYYYMM, digits: 4}\n")
	require.Empty(t, msgs)
	_, err := configstore.New(w.pool).Record(ctx, set, audit.System, "test")
	require.NoError(t, err)
	w.runtime.Swap(set)
	agent := w.as(t, "agent")
	var got []string
	for _, day := range []time.Time{w.now, w.now.AddDate(0, 0, 1), w.now.AddDate(0, 1, 0)} {
		w.now = day
		tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "暖气不热"})
		require.NoError(t, err)
		got = append(got, tk.Number)
	}
	assert.Equal(t, []string{"NM2026020001", "NM2026020002", "NM2026030001"}, got)
}
