package ui

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGraphiQLFilesEmbedded(t *testing.T) {
	for _, name := range []string{
		"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js",
		"LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom",
	} {
		b, err := fs.ReadFile(GraphiQL, "graphiql/"+name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, b, name)
	}
}
