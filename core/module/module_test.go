package module_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
)

// part records what the node does with it.
type part struct {
	name string
	log  *events
	fail bool
}

type events struct {
	mu  sync.Mutex
	all []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.all...)
}

func (p *part) Name() string { return p.name }

func (p *part) Start(context.Context) error {
	if p.fail {
		return errors.New("no port")
	}
	p.log.add("start " + p.name)
	return nil
}

func (p *part) Stop(context.Context) error { p.log.add("stop " + p.name); return nil }

func (p *part) ConfigChanged(context.Context, *registry.Set) {
	p.log.add("follow " + p.name)
}

// nameOnly is a module with nothing to run.
type nameOnly struct{}

func (nameOnly) Name() string { return "schema only" }

func TestANodeStartsInOrderFollowsChangesAndStopsInReverse(t *testing.T) {
	log := &events{}
	rt := registry.NewRuntime(&registry.Set{})
	n := &module.Node{Modules: []module.Module{&part{name: "a", log: log}, nameOnly{}, &part{name: "b", log: log}}, Config: rt}
	require.NoError(t, n.Start(context.Background()))
	rt.Swap(&registry.Set{})
	require.Eventually(t, func() bool { return len(log.list()) == 4 }, 5*time.Second, time.Millisecond)
	require.NoError(t, n.Stop(context.Background()))
	assert.Equal(t, []string{"start a", "start b", "follow a", "follow b", "stop b", "stop a"}, log.list())

	// Stopped: a later change reaches nobody.
	rt.Swap(&registry.Set{})
	assert.Len(t, log.list(), 6)
}

func TestAModuleThatFailsToStartStopsThoseBeforeIt(t *testing.T) {
	log := &events{}
	n := &module.Node{Modules: []module.Module{&part{name: "a", log: log}, &part{name: "b", log: log}, &part{name: "sip", log: log, fail: true}, &part{name: "c", log: log}},
		Config: registry.NewRuntime(&registry.Set{})}
	err := n.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting module sip: no port")
	assert.Equal(t, []string{"start a", "start b", "stop b", "stop a"}, log.list())
}
