package ui_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/hotline12345/hotline/core/app" // every configuration kind
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/workbench"
)

// TestAppNamesNoConfiguration keeps the web UI generic: no string literal
// in ui/src is the name of a state, action, form field or role of the
// shipped configuration. What differs per role or flow comes from GraphQL
// (myWorkbench, forms, flows), so a centre's own configuration needs no
// front-end change.
func TestAppNamesNoConfiguration(t *testing.T) {
	set, diags := registry.Load(context.Background(), []string{"../flows", "../forms", "../scripts"}, registry.LoadOptions{})
	require.Empty(t, diags)
	names := map[string]string{}
	for _, d := range set.All(flow.Kind) {
		f := d.Model.(*flow.Flow)
		for _, s := range f.States {
			names[s.Name] = "state of flow " + f.Name
		}
		for _, a := range f.Actions {
			names[a.Name] = "action of flow " + f.Name
		}
	}
	for _, d := range set.All(form.Kind) {
		for _, fl := range d.Model.(*form.Form).Fields {
			names[fl.Name] = "field of form " + d.Name
		}
	}
	for _, d := range set.All(identity.KindRole) {
		names[d.Name] = "role"
	}
	require.NotEmpty(t, names)
	// The pages of the UI (core/workbench.Pages) are the UI's own names,
	// which it must use to draw a menu entry: a page named like an action
	// (register) is no configuration.
	for p := range workbench.Pages {
		delete(names, p)
	}
	// So are the field types of the form kind (registry namespace field):
	// the renderer draws each by its type, and a field may be named like
	// one (unit).
	for _, ty := range registry.Names(registry.NSField) {
		delete(names, ty)
	}

	var found []string
	err := filepath.WalkDir("src", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".test.ts") || !(strings.HasSuffix(p, ".ts") || strings.HasSuffix(p, ".vue")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, s := range literals(line, strings.HasSuffix(p, ".vue")) {
				if what, ok := names[s]; ok {
					found = append(found, fmt.Sprintf("%s:%d: %q (%s)", p, i+1, s, what))
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, found, "the UI names configuration; take it from GraphQL instead")
}

var (
	literal = regexp.MustCompile(`'([^'\n]*)'|"([^"\n]*)"|` + "`([^`]*)`")
	// In a template, only what Vue evaluates: bound attributes, directives,
	// handlers and mustaches (class="title" is CSS, not a field).
	bound    = regexp.MustCompile(`(?:\s[:@#]|\sv-)[\w.:\[\]-]*="([^"]*)"|\{\{(.*?)\}\}`)
	tagStart = regexp.MustCompile(`^\s*<`)
)

// literals returns the string literals of one source line; for a .vue
// file, of its script and of the expressions of its template.
func literals(line string, vue bool) []string {
	var out []string
	add := func(code string) {
		for _, m := range literal.FindAllStringSubmatch(code, -1) {
			out = append(out, m[1]+m[2]+m[3])
		}
	}
	if !vue || (!tagStart.MatchString(line) && !strings.Contains(line, "{{") && !strings.Contains(line, `="`)) {
		add(line)
		return out
	}
	for _, m := range bound.FindAllStringSubmatch(line, -1) {
		add(m[1] + m[2])
	}
	return out
}
