package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The broken fixtures under testdata/lint must produce exactly the problems
// listed in their .expected files, each at its file:line:col.
func TestLintReportsEveryProblemWithPosition(t *testing.T) {
	t.Chdir("../../../testdata/lint")
	for _, fixture := range []string{"broken", "failing-tests"} {
		t.Run(fixture, func(t *testing.T) {
			want, err := os.ReadFile(fixture + ".expected")
			require.NoError(t, err)
			var out bytes.Buffer
			n, err := lint(&out, []string{fixture})
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
			assert.Equal(t, strings.Count(string(want), "\n"), n)
		})
	}
}

// The shipped configuration lints clean, its tests included.
func TestShippedConfigurationIsClean(t *testing.T) {
	t.Chdir("../../..")
	var out bytes.Buffer
	n, err := lint(&out, nil)
	require.NoError(t, err)
	assert.Zero(t, n, out.String())
}
