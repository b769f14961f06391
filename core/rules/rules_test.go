package rules_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/rules"
)

// ticket stands for an environment a module registers from Go.
type ticket struct {
	Category string         `expr:"category"`
	Urgency  int            `expr:"urgency"`
	Opened   time.Time      `expr:"opened"`
	Elapsed  time.Duration  `expr:"elapsed"`
	Tags     []string       `expr:"tags"`
	Counts   map[string]int `expr:"counts"`
}

func TestCompileAgainstGoEnvironment(t *testing.T) {
	env := rules.NewEnv("test-ticket", ticket{})
	for _, tc := range []struct {
		src   string
		vars  map[string]any
		want  any
		error string
	}{
		{src: `category == '投诉' && urgency >= 2`, vars: map[string]any{"category": "投诉", "urgency": 3}, want: true},
		{src: `counts['return_failed'] < 2`, vars: map[string]any{"counts": map[string]any{"return_failed": 2}}, want: false},
		{src: `'加急' in tags`, vars: map[string]any{"tags": []any{"加急"}}, want: true},
		{src: `elapsed > duration('2h')`, vars: map[string]any{"elapsed": "3h"}, want: true},
		{src: `opened.Year() == 2026`, vars: map[string]any{"opened": "2026-02-17T08:00:00+08:00"}, want: true},
		{src: `urgency > 1`, vars: map[string]any{"urgency": "high"}, error: "urgency: expected a whole number"},
		{src: `urgency > 1`, vars: map[string]any{"urgent": 1}, error: "urgent: no such variable"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			p, diags := rules.Compile(rules.Expr{Source: tc.src}, env, rules.Bool)
			require.Empty(t, diags)
			got, err := p.Run(tc.vars)
			if tc.error != "" {
				require.ErrorContains(t, err, tc.error)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCompileErrorsPointIntoTheFile(t *testing.T) {
	env := rules.NewEnv("t2", ticket{})
	pos := diag.Pos{File: "flows/x.yaml", Line: 10, Col: 7}
	for _, tc := range []struct {
		src  string
		want rules.Result
		at   diag.Pos
	}{
		{"categroy == 'x'", rules.Bool, diag.Pos{File: "flows/x.yaml", Line: 10, Col: 7}},
		{"urgency + 1", rules.Bool, diag.Pos{File: "flows/x.yaml", Line: 10, Col: 7}},
		{"urgency > 1 && tags.Foo", rules.Bool, diag.Pos{File: "flows/x.yaml", Line: 10, Col: 27}},
		{"", rules.Bool, pos},
	} {
		_, diags := rules.Compile(rules.Expr{Source: tc.src, Pos: pos}, env, tc.want)
		require.Len(t, diags, 1, tc.src)
		assert.Equal(t, tc.at.Line, diags[0].Pos.Line, tc.src)
		assert.Equal(t, tc.at.Col, diags[0].Pos.Col, "%s: %s", tc.src, diags[0].Message)
	}
}

func TestEqualAcrossNumberTypes(t *testing.T) {
	assert.True(t, rules.Equal(int(3), float64(3)))
	assert.True(t, rules.Equal([]any{1, "a"}, []any{int64(1), "a"}))
	assert.True(t, rules.Equal(map[string]any{"n": 2.0}, map[string]any{"n": 2}))
	assert.False(t, rules.Equal(3, "3"))
	assert.False(t, rules.Equal([]any{1}, []any{1, 2}))
}

func TestUsesNamesWhatARuleReads(t *testing.T) {
	env := rules.NewEnv("test-ticket-uses", ticket{})
	for _, tc := range []struct {
		src  string
		uses []string
		not  []string
	}{
		{src: `urgency > 1`, uses: []string{"urgency"}, not: []string{"counts", "tags"}},
		{src: `(counts['lock'] ?? 0) < 1 && category == '投诉'`, uses: []string{"counts", "category"}, not: []string{"urgency"}},
		{src: `all(tags, {# != 'urgency'})`, uses: []string{"tags"}, not: []string{"urgency"}}, // a string is not a name
	} {
		p, diags := rules.Compile(rules.Expr{Source: tc.src}, env, rules.Bool)
		require.Empty(t, diags, tc.src)
		for _, n := range tc.uses {
			assert.True(t, p.Uses(n), "%s uses %s", tc.src, n)
		}
		for _, n := range tc.not {
			assert.False(t, p.Uses(n), "%s does not use %s", tc.src, n)
		}
	}
}
