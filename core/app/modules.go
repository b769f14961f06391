package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/announce"
	"github.com/hotline12345/hotline/core/attachment"
	"github.com/hotline12345/hotline/core/callstats"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/dispatch"
	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/flowtest"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/core/workbench"
)

// modules is the platform as a node runs it: the modules in start order,
// which is also the GraphQL schema's order (module.Node stops them in
// reverse). A new part of the platform is one more entry. sip is nil on a
// node that takes no calls, feed nil where nothing runs (the schema files).
func (k *kernel) modules(cfg Config, sip *telephony.Server, feed *outbox.Feed, log *slog.Logger) []module.Module {
	forms := form.Module{Config: k.cfg.Runtime, Lookup: func() form.Lookup { return form.DBLookup{Q: k.pool} }}
	notices := &outbox.Module{Store: outbox.Store{Pool: k.pool}, Feed: feed, Visible: func(ctx context.Context, p *identity.Principal, id int64) error {
		_, err := k.tickets.Store.Get(ctx, p, id)
		return err
	}}
	if feed != nil {
		notices.Dispatcher = Dispatcher(cfg, k.pool, k.cfg.Runtime, feed, log)
	}
	return []module.Module{
		identity.Module{Svc: k.ids},
		&configstore.Module{Manager: k.cfg, Poll: cfg.ConfigPoll, Watch: k.watch},
		&flow.Module{Engine: k.tickets, Log: log, TimerTick: 15 * time.Second, IndexTick: 30 * time.Second},
		flowtest.Module{},
		ticketsearch.Module{Searcher: k.search},
		dispatch.Module{Suggester: &dispatch.Suggester{Pool: k.pool, Config: k.cfg.Runtime, Tickets: k.tickets.Store}},
		forms,
		export.Module{Service: k.exports},
		&knowledge.Module{Service: k.knowledge, Tick: 2 * time.Second},
		&acd.Module{Agents: k.agents, Distributor: k.acd, Tick: time.Second},
		telephony.Module{Pool: k.pool, Server: sip, Agents: k.agents, Tickets: k.search, Files: cfg.Files(), Config: k.cfg.Runtime},
		callstats.Module{Pool: k.pool},
		notices,
		announce.Module{Service: &announce.Service{Pool: k.pool, Role: announce.RolesFrom(k.cfg.Runtime)}},
		workbench.Module{Config: k.cfg.Runtime},
		attachment.Module{Service: k.attachments},
	}
}

// Modules is the module list of a node that is not running, for what the
// modules declare (their GraphQL schema, HTTP routes and registrations)
// without storage; Serve runs the same list over its services.
func Modules() []module.Module {
	k := &kernel{ids: &identity.Service{}, cfg: &configstore.Manager{}, tickets: &flow.Engine{}, exports: &export.Service{}, knowledge: &knowledge.Service{}, agents: &acd.Service{}, attachments: &attachment.Service{}, search: &ticketsearch.Searcher{}}
	return k.modules(Config{}, nil, nil, nil)
}

// Router is a module that serves HTTP routes besides GraphQL (uploads,
// downloads). signIn authenticates a request as GraphQL does: the
// principal, or nil for an anonymous request.
type Router interface {
	Routes(mux *http.ServeMux, signIn func(*http.Request) (*identity.Principal, error))
}

// graphQL is the modules that add to the GraphQL schema, in order.
func graphQL(modules []module.Module) []gql.Module {
	var out []gql.Module
	for _, m := range modules {
		if g, ok := m.(gql.Module); ok {
			out = append(out, g)
		}
	}
	return out
}

// moduleRoutes is the mux of every module's HTTP routes.
func moduleRoutes(modules []module.Module, signIn func(*http.Request) (*identity.Principal, error)) *http.ServeMux {
	mux := http.NewServeMux()
	for _, m := range modules {
		if r, ok := m.(Router); ok {
			r.Routes(mux, signIn)
		}
	}
	return mux
}
