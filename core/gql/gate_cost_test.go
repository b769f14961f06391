package gql

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/require"
)

// TestValidationCostAtTheLimits logs how long graphql-go's validation
// takes on documents built to be expensive yet inside every limit of the
// gate, the figure SECURITY.md states. It checks only that each one
// passes the gate; timing on a shared machine is logged, not asserted.
func TestValidationCostAtTheLimits(t *testing.T) {
	schema := testSchema(t)
	l := Limits{}.withDefaults()
	long := strings.Repeat("长", 30)
	pad := "#" + strings.Repeat("x", 60_000) + "\n"
	padLines := strings.Repeat("#\n", 30_000)
	// A chain of fragments, each spreading the next (validation walks
	// every path through spreads), and a hundred fragments spread side by
	// side (validation compares every pair).
	var chain, side strings.Builder
	chain.WriteString("{ ...F0 }")
	side.WriteString("{ " + repeat("...F%d ", l.MaxFragments) + "}")
	for i := range l.MaxFragments {
		fmt.Fprintf(&chain, " fragment F%d on Query { x%d: hello(name: \"%d\") %s", i, i, i, strings.ReplaceAll(repeat("C%d: count ", 8), "C", fmt.Sprintf("f%dc", i)))
		if i+1 < l.MaxFragments {
			fmt.Fprintf(&chain, " ...F%d", i+1)
		}
		chain.WriteString(" }")
		fmt.Fprintf(&side, " fragment F%d on Query { x%d: hello(name: \"%d\") %s }", i, i/2, i%2, strings.ReplaceAll(repeat("C%d: count ", 8), "C", fmt.Sprintf("f%dc", i)))
	}
	cases := []struct{ name, query string }{
		{"same-named fields with sub-selections", "{ " + strings.Repeat("tickets { "+strings.Repeat("id ", l.MaxSameName)+"} ", l.MaxSameName) + "}"},
		{"same name, differing arguments", "{ " + repeat(`hello(name: "`+long+`%d") `, l.MaxSameName) + repeat("a%d: count ", l.MaxFields-l.MaxSameName) + "}"},
		{"distinct aliases", "{ " + repeat("a%d: tickets(first: 1) { id } ", l.MaxFields/2) + "}"},
		{"a chain of fragments", chain.String()},
		{"fragments side by side", side.String()},
		{"nested same names", strings.Repeat("{ tickets ", 1) + "{ " + strings.Repeat("title ", l.MaxSameName) + strings.Repeat("t: title ", l.MaxSameName) + "} }"},
		{"introspection", mustRead(t, "testdata/introspection.graphql")},
		// Every field an error, in a long text of many lines: graphql-go
		// locates each error by scanning the whole text, unless detached.
		{"a thousand unknown fields", padLines + "{ " + repeat("a%d: nope ", l.MaxFields) + "}"},
		{"unknown arguments", pad + "{ " + repeat("a%d: count(x: 1, y: 2, z: 3) ", l.MaxTokens/17) + "}"},
		{"conflicting same names", padLines + "{ " + repeat(`hello(name: "%d") `, l.MaxSameName) + "}"},
		// Validation prints both fields' arguments to compare them, for
		// every pair sharing a response name.
		{"same names, long string arguments", "{ " + repeat(`hello(name: "%d`+strings.Repeat("长", 600)+`") `, l.MaxSameName) + "}"},
		{"same names, long list arguments", "{ " + repeat(`echo(v: [%d`+strings.Repeat(", 1", l.MaxValueElements/l.MaxSameName-1)+`]) `, l.MaxSameName) + "}"},
	}
	var worst time.Duration
	for _, tc := range cases {
		require.Less(t, len(tc.query), l.MaxBytes, tc.name)
		require.Nil(t, l.ScanText(tc.query), tc.name)
		doc := parseDoc(t, tc.query)
		require.Nil(t, l.CheckShape(doc), tc.name)
		detachSource(doc)
		start := time.Now()
		res := graphql.ValidateDocument(&schema, doc, nil)
		relocate(tc.query, clientErrors(res.Errors))
		took := time.Since(start)
		worst = max(worst, took)
		t.Logf("%-40s %6d bytes %5d errors  validated in %v", tc.name, len(tc.query), len(res.Errors), took)
	}
	t.Logf("worst: %v", worst)
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}
