package gql

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDocumentGate feeds arbitrary query text through what every request
// goes through before a resolver runs: size, lexical scan, parser, shape
// gate, limits, validation and string bounds. A crash is a finding: a
// stack overflow (the graphql-go fragment-cycle bug) kills the fuzzer.
func FuzzDocumentGate(f *testing.F) {
	for _, tc := range cycleDocuments {
		f.Add(tc.query)
	}
	intro, err := os.ReadFile("testdata/introspection.graphql")
	require.NoError(f, err)
	for _, seed := range []string{
		string(intro),
		`{ hello(name: "市民") }`,
		`query($n: Int) { tickets(first: $n) { id title } }`,
		`{ ...Missing }`,
		`{ echo(v: [[[[{a: [1, 2.5, "x", true, null, ENUM]}]]]]) }`,
		`{ a { b { c } } } # {{{{`,
		`{ note(text: """ block {{{ \""" """) }`,
		`mutation { setNote(text: "a\u0000b") }`,
		`subscription { counter }`,
		"{ echo(v: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + ") }",
		"{ ...F0 } " + repeat("fragment F%[1]d on Query { ...F%[1]d } ", 3),
		`{ count } type Evil { a: Evil }`,
	} {
		f.Add(seed)
	}
	s, err := NewBuilder().Build(testModule{}, lengthModule{find: 5, blob: 100})
	require.NoError(f, err)
	h := newHandler(s, HandlerOptions{})
	f.Fuzz(func(t *testing.T, q string) {
		req := Request{Query: q}
		doc, errs := h.parseRequest(req)
		if errs != nil {
			return
		}
		// What passed the gate is acyclic, fully defined and bounded.
		require.Nil(t, h.opts.Limits.CheckShape(doc))
		_ = h.checkDocument(doc, req)
	})
}

// FuzzVariables feeds arbitrary JSON as the variables of operations
// taking every class of argument: the depth and size bounds, then the
// string bounds by argument type.
func FuzzVariables(f *testing.F) {
	for _, seed := range []string{
		`{"t": "x", "n": {"title": "a", "tags": ["b"], "extra": {"k": [1, {"x": "y"}]}}}`,
		`{"v": [[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`,
		`{"v": {"` + strings.Repeat("k", 30) + `": "\u0000"}}`,
		`{"n": [{"title": 1}, null, "s"], "q": null}`,
		`{"v": ` + strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat(`}`, 30) + `}`,
	} {
		f.Add(seed)
	}
	s, err := NewBuilder().Build(testModule{}, lengthModule{find: 5, blob: 100})
	require.NoError(f, err)
	h := newHandler(s, HandlerOptions{Limits: Limits{MaxStringLength: 50}})
	query := `query($t: String, $q: String!, $v: JSON, $n: NoteInput, $ns: [NoteInput]) {
		note(text: $t) find(query: $q) blob(v: $v) echo(v: $v) __typename
	}
	mutation M($n: NoteInput, $ns: [NoteInput]) { save(input: $n, inputs: $ns) }`
	f.Fuzz(func(t *testing.T, raw string) {
		var vars map[string]any
		if json.Unmarshal([]byte(raw), &vars) != nil {
			return
		}
		for _, op := range []string{"", "M"} {
			req := Request{Query: query, OperationName: op, Variables: vars}
			doc, errs := h.parseRequest(req)
			if errs != nil {
				continue
			}
			_ = h.checkDocument(doc, req)
		}
	})
}
