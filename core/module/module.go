// Package module is how a node runs the parts of the platform. Each part
// (identity, configuration, tickets, forms, exports, knowledge, ACD,
// telephony, call statistics, notices, attachments) is a Module; a node is
// a list of them (core/app), started in the list's order, told of every
// configuration change, and stopped in reverse.
//
// A module implements what it has of the interfaces below; its GraphQL
// fields come from gql.Module (Register), built into the schema in the
// list's order and built again when the configuration changes, and its
// HTTP routes from a Routes method (app.Router: the server's mux is the
// server's).
package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hotline12345/hotline/core/registry"
)

// Module is one part of the platform.
type Module interface {
	Name() string
}

// Starter has work of its own to run (listeners, timers, dispatchers).
type Starter interface {
	// Start returns once the module serves; what it runs goes on until
	// Stop (or ctx ends).
	Start(ctx context.Context) error
}

// Stopper waits for what Start started to finish.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Follower reacts to a change of the running configuration (a publish, a
// reload): trunks register again, queues are re-evaluated. It is called
// with the set now running, after Start, from one goroutine, so it needs
// no lock against itself; a set swapped in while it runs is passed next
// (changes in between are coalesced), so it makes the module match set
// rather than apply a difference.
type Follower interface {
	ConfigChanged(ctx context.Context, set *registry.Set)
}

// Declarer names what the module registers with the kernel's registries
// (in its package's init): configuration kinds, permissions and flow
// procedures. core/app checks that every registration is declared by one
// module of the list, so the list says what a node is made of.
type Declarer interface {
	Declares() Declarations
}

// Declarations are what a module registers.
type Declarations struct {
	Kinds       []string
	Permissions []string
	Procedures  []string
}

// Node runs a list of modules.
type Node struct {
	Modules []Module
	// Config is the running configuration the followers follow.
	Config *registry.Runtime
	Log    *slog.Logger

	started     []Module
	unsubscribe func()
	cancel      context.CancelFunc
	following   sync.WaitGroup
}

// Start starts the modules in order and then follows the configuration.
// If one fails, those already started are stopped, in reverse.
func (n *Node) Start(ctx context.Context) error {
	if n.Log == nil {
		n.Log = slog.Default()
	}
	// Subscribed before the modules start, so that no change made while
	// they start goes untold.
	changed := make(chan struct{}, 1)
	if n.Config != nil {
		n.unsubscribe = n.Config.Subscribe(func(*registry.Set) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}
	ctx, n.cancel = context.WithCancel(ctx)
	for _, m := range n.Modules {
		if s, ok := m.(Starter); ok {
			if err := s.Start(ctx); err != nil {
				err = fmt.Errorf("starting module %s: %w", m.Name(), err)
				return errors.Join(err, n.Stop(context.WithoutCancel(ctx)))
			}
		}
		n.started = append(n.started, m)
	}
	n.following.Add(1)
	go func() {
		defer n.following.Done()
		n.follow(ctx, changed)
	}()
	return nil
}

func (n *Node) follow(ctx context.Context, changed <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		set := n.Config.Current()
		for _, m := range n.started {
			if f, ok := m.(Follower); ok {
				n.Log.DebugContext(ctx, "configuration changed; module follows", "module", m.Name())
				f.ConfigChanged(ctx, set)
			}
		}
	}
}

// Stop stops following the configuration and stops the started modules
// in reverse order, each after the ones started after it.
func (n *Node) Stop(ctx context.Context) error {
	if n.unsubscribe != nil {
		n.unsubscribe()
	}
	if n.cancel != nil {
		// Followers end first: no module is reconfigured while it stops.
		n.cancel()
	}
	n.following.Wait()
	var errs []error
	for i := len(n.started) - 1; i >= 0; i-- {
		if s, ok := n.started[i].(Stopper); ok {
			if err := s.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping module %s: %w", n.started[i].Name(), err))
			}
		}
	}
	n.started = nil
	return errors.Join(errs...)
}

// Jobs are the goroutines a module runs from Start to Stop.
type Jobs struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Go runs each fn on its own goroutine until Stop (or ctx ends).
func Go(ctx context.Context, fns ...func(ctx context.Context)) *Jobs {
	j := &Jobs{}
	ctx, j.cancel = context.WithCancel(ctx)
	for _, fn := range fns {
		j.wg.Add(1)
		go func() {
			defer j.wg.Done()
			fn(ctx)
		}()
	}
	return j
}

// Stop ends the goroutines and waits for them; a module that never
// started (nil Jobs) has none.
func (j *Jobs) Stop(context.Context) error {
	if j == nil {
		return nil
	}
	j.cancel()
	j.wg.Wait()
	return nil
}
