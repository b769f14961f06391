package script

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/diag"
)

func TestCompileSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		message   string
	}{
		{"unexpected token", "local x = 1\nlocal y = = 2\n", 2, 11, "syntax error near '='"},
		{"statement is not a call", "local x = 1\n\n  foo bar\n", 3, 7, "near 'bar'"},
		{"multi-byte text before the error", "local s = \"工单\" \"x\"\n", 1, 16, "near 'x'"},
		{"unterminated string", "x = 1\ny = 'abc\n", 2, 5, "unterminated string"},
		{"missing end", "if x then\n  y = 1\n", 2, 8, "at end of file"},
		{"invalid character", "x = 3 ~ 4", 1, 7, "Invalid '~' token"},
		{"tab counts as one column", "\tlocal = 1", 1, 8, "near '='"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile("test", "scripts/test.lua", []byte(tt.src))
			var cerr *CompileError
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, diag.Pos{File: "scripts/test.lua", Line: tt.line, Col: tt.col}, cerr.Pos)
			assert.Contains(t, cerr.Message, tt.message)
			assert.Equal(t, cerr.Pos.String()+": "+cerr.Message, err.Error())
			assert.Equal(t, diag.Diagnostic{Pos: cerr.Pos, Message: cerr.Message}, cerr.Diagnostic())
		})
	}
}

func TestCompileCodegenError(t *testing.T) {
	_, err := Compile("test", "t.lua", []byte("function f()\n  return ...\nend"))
	var cerr *CompileError
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, 2, cerr.Pos.Line)
	assert.Contains(t, cerr.Message, "...")
}

func TestCompileOK(t *testing.T) {
	s, err := Compile("normalize", "scripts/normalize.lua", []byte("function f() return 1 end"))
	require.NoError(t, err)
	assert.Equal(t, "normalize", s.Name())
	assert.Equal(t, "scripts/normalize.lua", s.File())
}
