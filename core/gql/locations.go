package gql

import (
	"sort"

	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/location"
)

// graphql-go v0.8.1 computes the line and column of every error it
// creates, in validation and in execution, by compiling a regular
// expression and matching it over the whole query text
// (location.GetLocation). A document of 100 KB with a thousand
// erroneous fields therefore took tens of seconds to validate. Once a
// document is parsed its text is detached from the AST: graphql-go then
// reports each location as line 1, column offset+1 at no cost, and the
// handler turns those back into real lines and columns from an index of
// line starts built once.

// detachSource empties the text every node of doc refers to (the parser
// gives all nodes one shared *source.Source).
func detachSource(doc *ast.Document) {
	if doc != nil && doc.Loc != nil && doc.Loc.Source != nil {
		doc.Loc.Source.Body = nil
	}
}

// lineStarts are the byte offsets at which the query's lines start, with
// GraphQL's line terminators (\n, \r\n, \r).
type lineStarts []int

func newLineStarts(q string) lineStarts {
	starts := lineStarts{0}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\r':
			if i+1 < len(q) && q[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		case '\n':
			starts = append(starts, i+1)
		}
	}
	return starts
}

// relocate rewrites the locations graphql-go computed without the text
// (line 1, column offset+1) into real ones, counted as graphql-go counts
// them (columns in bytes, from 1).
func relocate(query string, errs []ResponseError) {
	var starts lineStarts
	for i := range errs {
		for j, loc := range errs[i].Locations {
			if loc.Line != 1 || loc.Column < 1 {
				continue
			}
			if starts == nil {
				starts = newLineStarts(query)
			}
			errs[i].Locations[j] = starts.locate(loc.Column - 1)
		}
	}
}

func (s lineStarts) locate(offset int) location.SourceLocation {
	line := sort.Search(len(s), func(i int) bool { return s[i] > offset }) // first start after offset
	return location.SourceLocation{Line: line, Column: offset - s[line-1] + 1}
}
