package telephony

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/registry"
)

func TestTrunkNormalizesCallers(t *testing.T) {
	tr := &Trunk{Strip: []string{"+86", "0086"}, AreaCode: "0471"}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+8613800138000", "13800138000", true},
		{"008613800138000", "13800138000", true},
		{"13800138000", "13800138000", true},
		{"6612345", "04716612345", true}, // a local number gets the area code
		{"66123456", "047166123456", true},
		{"04716612345", "04716612345", true},
		{"anonymous", "anonymous", false},
		{"+86", "+86", false},
	} {
		got, ok := tr.Normalize(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
	}
}

func TestAssertedIdentity(t *testing.T) {
	for in, want := range map[string]string{
		"<tel:+8613800138000>":                                "+8613800138000",
		`"Zhang" <sip:+8647166123456@ims.example;user=phone>`: "+8647166123456",
		"<tel:+8613800138000;verstat=TN-Validation-Passed>":   "+8613800138000",
		"<sip:13800138000@10.0.0.1>, <tel:+8613800138000>":    "13800138000",
		"<sip:ims.example>":                                   "",
		"garbage":                                             "",
	} {
		assert.Equal(t, want, assertedUser(in), in)
	}
}

// loadTrunks loads trunk documents alone and returns the set and the
// problems found.
func loadTrunks(t *testing.T, text string) (*registry.Set, string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trunks.yaml"), []byte(text), 0o600))
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	var all []string
	for _, d := range diags {
		all = append(all, d.String())
	}
	return set, strings.Join(all, "\n")
}

func TestTrunkRoutesAndLint(t *testing.T) {
	set, problems := loadTrunks(t, `kind: trunk
name: b
label: B
proxy: 10.0.0.2
outbound: {priority: 2, numbers: ['^1\d{10}$']}
---
kind: trunk
name: a
label: A
proxy: 10.0.0.1:5070
addresses: [10.0.0.0/24]
outbound: {priority: 1, numbers: ['^1\d{10}$', '^0\d+$']}
`)
	require.Empty(t, problems)
	var names []string
	for _, tr := range routes(set, "13800138000") {
		names = append(names, tr.Name)
	}
	assert.Equal(t, []string{"a", "b"}, names, "lowest priority first")
	assert.Len(t, routes(set, "04716612345"), 1)
	assert.Empty(t, routes(set, "12345"))
	a, ok := registry.Model[*Trunk](set, KindTrunk, "a")
	require.True(t, ok)
	assert.Equal(t, "sip:13800138000@10.0.0.1:5070", a.uri("13800138000"))

	_, problems = loadTrunks(t, `kind: trunk
name: bad
label: 坏
addresses: [10.0.0.300]
transport: sctp
max_calls: -1
register: {username: u, password_env: HOTLINE_TRUNK_BAD}
outbound: {numbers: ['^(1']}
`)
	for _, want := range []string{"trunks.yaml:4:", "addresses[0]", "transport", "max_calls", "proxy: a trunk that registers", "trunks.yaml:8:", "outbound.numbers[0]"} {
		assert.Contains(t, problems, want)
	}
	_, problems = loadTrunks(t, "kind: trunk\nname: bad\nlabel: 坏\nregister: {username: u}\n")
	assert.Contains(t, problems, "trunks.yaml:4:11: register: missing required key \"password_env\"")
}
