package identity

import (
	"github.com/hotline12345/hotline/core/registry"
)

// KindOrganisation is the configuration kind of organisations written as
// configuration: a tree of units that flow scenarios run in (each names
// its own, org: NAME) and that a demo loads. The running organisation is
// the units table, changed through GraphQL; these documents only seed.
const KindOrganisation = "organisation"

func init() {
	registry.Register(registry.Kind{
		Name:        KindOrganisation,
		Dir:         "flows",
		Description: "An organisation: a tree of units (code, name, kind) that flow scenarios run in.",
		New:         func() any { return &Organisation{} },
		Spec: registry.Spec{Examples: []registry.Example{{Title: "A small county hotline", YAML: `kind: organisation
name: example-county
label: 示例县
units:
  - code: root
    name: 示例县
    kind: county
    children:
      - {code: c12345, name: 示例县12345热线, kind: center}
      - {code: town1, name: 城关镇, kind: town, children: [{code: village1, name: 东村, kind: village}]}
`}}},
	})
}

// Organisation is a `kind: organisation` document. It is also a seed
// file (ParseSeed reads it), so the demo and the tests load the same text
// the scenarios run in.
type Organisation struct {
	Name  string     `yaml:"name" jsonschema:"required"`
	Label string     `yaml:"label"`
	Units []SeedUnit `yaml:"units" jsonschema:"required"`
}

// Provision checks that every unit has a code, a name and a kind, and
// that no code is used twice.
func (o *Organisation) Provision(c *registry.Context) {
	if len(o.Units) == 0 {
		c.Errorf(c.At("units"), "organisation %s has no units", o.Name)
	}
	seen := map[string]bool{}
	var walk func(units []SeedUnit, path []any)
	walk = func(units []SeedUnit, path []any) {
		for i, u := range units {
			at := append(append([]any{}, path...), i)
			switch {
			case u.Code == "" || u.Name == "" || u.Kind == "":
				c.Errorf(c.At(at...), "unit %q: give its code, name and kind", u.Code)
			case seen[u.Code]:
				c.Errorf(c.At(append(at, "code")...), "unit code %q is used twice", u.Code)
			}
			seen[u.Code] = true
			walk(u.Children, append(at, "children"))
		}
	}
	walk(o.Units, []any{"units"})
}

// Seed is the organisation's units as a seed.
func (o *Organisation) Seed() Seed { return Seed{Units: o.Units} }

// OrganisationSeed is the seed of the organisation document called name
// in set.
func OrganisationSeed(set *registry.Set, name string) (Seed, bool) {
	o, ok := registry.Model[*Organisation](set, KindOrganisation, name)
	if !ok {
		return Seed{}, false
	}
	return o.Seed(), true
}
