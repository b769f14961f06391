package app_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
)

// The module list says what a node is made of: every configuration kind,
// permission and flow procedure the server knows is declared by exactly
// one module of it, and no module declares what nothing registered.
func TestEveryRegistrationIsDeclaredByOneModule(t *testing.T) {
	declared := map[string][]string{} // "kind flow" → modules
	for _, m := range app.Modules() {
		d, ok := m.(module.Declarer)
		if !ok {
			continue
		}
		ds := d.Declares()
		for what, names := range map[string][]string{"kind": ds.Kinds, "permission": ds.Permissions, "procedure": ds.Procedures} {
			for _, n := range names {
				declared[what+" "+n] = append(declared[what+" "+n], m.Name())
			}
		}
	}
	var registered []string
	for _, k := range registry.Default().Names() {
		registered = append(registered, "kind "+k)
	}
	for _, p := range identity.Permissions() {
		registered = append(registered, "permission "+p.Name)
	}
	for _, p := range flow.ProcedureNames() {
		registered = append(registered, "procedure "+p)
	}
	for _, r := range registered {
		assert.Len(t, declared[r], 1, "%s: declared by %v (want one module of core/app's list)", r, declared[r])
	}
	for d := range declared {
		assert.True(t, slices.Contains(registered, d), "%s is declared by %v but nothing registers it", d, declared[d])
	}
}
