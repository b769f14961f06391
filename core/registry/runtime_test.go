package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/registry"
)

func TestRuntimeTellsSubscribersOfEachSwapInOrder(t *testing.T) {
	a, b := &registry.Set{}, &registry.Set{}
	r := registry.NewRuntime(a)
	var seen []string
	stopFirst := r.Subscribe(func(s *registry.Set) { seen = append(seen, "first "+name(s, a, b)) })
	r.Subscribe(func(s *registry.Set) { seen = append(seen, "second "+name(s, a, b)) })

	r.Swap(b)
	r.Swap(b) // the set already running: nothing changed
	stopFirst()
	r.Swap(a)

	assert.Equal(t, []string{"first b", "second b", "second a"}, seen)
	assert.Same(t, a, r.Current())
}

func name(s, a, b *registry.Set) string {
	switch s {
	case a:
		return "a"
	case b:
		return "b"
	}
	return "?"
}
