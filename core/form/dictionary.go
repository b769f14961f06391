package form

import (
	"fmt"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// KindDictionary is the configuration kind of dictionaries: the option
// lists forms share (诉求类型, 紧急程度, 渠道) and trees (归口分类).
const KindDictionary = "dictionary"

func init() {
	registry.Register(registry.Kind{
		Name:        KindDictionary,
		Description: "A dictionary: a list or tree of options that form fields choose from.",
		Dir:         "forms",
		New:         func() any { return &Dictionary{} },
		Spec:        registry.Spec{Examples: dictionaryExamples},
	})
}

// Dictionary is a `kind: dictionary` document:
//
//	kind: dictionary
//	name: urgency
//	label: 紧急程度
//	items: [一般, 紧急]
type Dictionary struct {
	Name  string `yaml:"name" jsonschema:"required"`
	Label string `yaml:"label" jsonschema:"required"`
	Items []Item `yaml:"items" jsonschema:"required"`
}

// Item is one option: a value with an optional label (the value is shown
// when there is none) and children, for trees. Written as a plain string
// it is a value alone.
type Item struct {
	Pos      diag.Pos `yaml:"-"`
	Value    string   `yaml:"value" json:"value"`
	Label    string   `yaml:"label" json:"label"`
	Children []Item   `yaml:"children" json:"children,omitempty"`
}

// Text is what the option shows.
func (it Item) Text() string {
	if it.Label != "" {
		return it.Label
	}
	return it.Value
}

// DecodeNode implements registry.NodeDecoder: an item is a string or a
// mapping.
func (it *Item) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	it.Pos = pos
	if n.Kind == yaml.ScalarNode {
		if n.Value == "" {
			return fmt.Errorf("an option cannot be empty")
		}
		it.Value = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected an option (a string, or value/label/children), got %s", registry.Describe(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "value", "label":
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("option %s: expected text, got %s", k, registry.Describe(v))
			}
			if k == "value" {
				it.Value = v.Value
			} else {
				it.Label = v.Value
			}
		case "children":
			if v.Kind != yaml.SequenceNode {
				return fmt.Errorf("option children: expected a list, got %s", registry.Describe(v))
			}
			for _, cn := range v.Content {
				var child Item
				if err := child.DecodeNode(cn, diag.Pos{File: pos.File, Line: cn.Line, Col: cn.Column}); err != nil {
					return fmt.Errorf("line %d: %w", cn.Line, err)
				}
				it.Children = append(it.Children, child)
			}
		default:
			return fmt.Errorf("unknown key %q in an option (value, label, children)", k)
		}
	}
	if it.Value == "" {
		return fmt.Errorf("an option needs a value")
	}
	return nil
}

// JSONSchema describes an item as a string or an object.
func (Item) JSONSchema() *jsonschema.Schema {
	obj := &jsonschema.Schema{Type: "object", Required: []string{"value"}, AdditionalProperties: jsonschema.FalseSchema}
	obj.Properties = jsonschema.NewProperties()
	obj.Properties.Set("value", &jsonschema.Schema{Type: "string"})
	obj.Properties.Set("label", &jsonschema.Schema{Type: "string"})
	obj.Properties.Set("children", &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Ref: "#/$defs/Item"}})
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, obj}}
}

// Provision checks that values are unique across the whole tree.
func (d *Dictionary) Provision(c *registry.Context) {
	if len(d.Items) == 0 {
		c.Errorf(c.At("items"), "dictionary %s has no items", d.Name)
	}
	seen := map[string]diag.Pos{}
	var walk func(items []Item)
	walk = func(items []Item) {
		for _, it := range items {
			if prev, ok := seen[it.Value]; ok {
				c.Errorf(it.Pos, "dictionary %s: value %q is already used at %s", d.Name, it.Value, prev)
			}
			seen[it.Value] = it.Pos
			walk(it.Children)
		}
	}
	walk(d.Items)
}
