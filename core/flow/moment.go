package flow

import (
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// Moment is a point in time written in RFC 3339.
type Moment struct {
	time.Time
	Pos diag.Pos
}

// DecodeNode implements registry.NodeDecoder.
func (m *Moment) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("expected a time like 2026-02-13T10:00:00+08:00, got %q", n.Value)
	}
	m.Time, m.Pos = t, pos
	return nil
}

// JSONSchema describes a moment as the string it is written as.
func (Moment) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Format: "date-time"}
}
