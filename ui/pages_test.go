package ui_test

import (
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/workbench"
)

// TestEveryPageHasItsView keeps the pages a workbench may name
// (core/workbench.Pages, which lint checks menus against) and the pages
// EntryView draws the same set: a page only in Go would lint clean and
// show 此页面将在后续版本提供; one only in the UI could never be opened.
func TestEveryPageHasItsView(t *testing.T) {
	src, err := os.ReadFile("src/views/EntryView.vue")
	require.NoError(t, err)
	var drawn []string
	for _, m := range regexp.MustCompile(`entry\.page === '([a-z0-9-]+)'`).FindAllStringSubmatch(string(src), -1) {
		drawn = append(drawn, m[1])
	}
	var declared []string
	for p := range workbench.Pages {
		declared = append(declared, p)
	}
	sort.Strings(drawn)
	sort.Strings(declared)
	assert.Equal(t, declared, drawn, "core/workbench.Pages and the pages ui/src/views/EntryView.vue draws")
}
