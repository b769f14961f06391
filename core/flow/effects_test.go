package flow

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/registry"
)

// The keys of Effect and the registered effects are one list, so neither
// the reference nor lint's suggestions can miss an effect.
func TestEveryEffectKeyIsRegistered(t *testing.T) {
	var keys []string
	ty := reflect.TypeOf(Effect{})
	for i := range ty.NumField() {
		if name, _, _ := strings.Cut(ty.Field(i).Tag.Get("yaml"), ","); name != "-" && name != "" {
			keys = append(keys, name)
		}
	}
	assert.ElementsMatch(t, keys, registry.Names(registry.NSEffect))
}
