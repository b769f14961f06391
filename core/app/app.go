package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/announce"
	"github.com/hotline12345/hotline/core/attachment"
	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/lograte"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/demo"
	"github.com/hotline12345/hotline/schema"
	"github.com/hotline12345/hotline/ui"
)

// Options are the command-line switches of `hotline serve`.
type Options struct {
	// Demo loads the demo organisation and accounts.
	Demo bool
	// Listening, when set, receives the bound HTTP address once the server
	// accepts connections (tests listen on port 0).
	Listening chan<- string
	// DemoTickets is how many generated tickets a demo database starts
	// with (only when it has none).
	DemoTickets int
	// DemoArticles is how many generated knowledge articles it starts with
	// (only when it has none), published through the knowledge flow.
	DemoArticles int
	// Watch publishes edits of the configuration folders as they are
	// saved, and writes publishes back into them (development).
	Watch bool
}

// Tools are what the command-line tools work with: storage and the
// running configuration, started as serve starts them.
type Tools struct {
	Pool    *pgxpool.Pool
	Config  *registry.Runtime
	Tickets *flow.Engine
	// Knowledge is not opened: its index belongs to one process at a
	// time, so a tool opens it only when it needs it (and not beside a
	// running server on the same data folder).
	Knowledge *knowledge.Service
	Identity  *identity.Service
}

// SignIn signs user in, for tools that act as someone (benchmarks acting
// as the demo accounts).
func (t Tools) SignIn(ctx context.Context, user, password string) (*identity.Principal, error) {
	res, err := t.Identity.Login(ctx, user, password)
	if err != nil {
		return nil, fmt.Errorf("signing in %s: %w", user, err)
	}
	return res.Principal, nil
}

// WithTools starts storage and configuration as serve would, without
// serving, and runs fn with them.
func WithTools(ctx context.Context, cfg Config, opts Options, log *slog.Logger, fn func(Tools) error) error {
	k, err := start(ctx, cfg, opts, log)
	if err != nil {
		return err
	}
	defer k.close(log)
	return fn(Tools{Pool: k.pool, Config: k.cfg.Runtime, Tickets: k.tickets, Knowledge: k.knowledge, Identity: k.ids})
}

// Dispatcher is the outbox dispatcher of a node, with the kernel's
// handlers: users' notices and ticket changes.
func Dispatcher(cfg Config, pool *pgxpool.Pool, config *registry.Runtime, feed *outbox.Feed, log *slog.Logger) *outbox.Dispatcher {
	d := &outbox.Dispatcher{Pool: pool, Log: log.With("part", "outbox"), Retention: cfg.OutboxRetention, NoticeRetention: cfg.NoticeRetention,
		Retry: outbox.Retry{Base: outbox.DefaultRetry.Base, Max: cfg.OutboxRetryMax, Attempts: cfg.OutboxAttempts},
		Handlers: map[string]outbox.Handler{"notice": outbox.NoticesFrom(config), "ticket.changed": outbox.TicketChanges(),
			announce.Topic: announce.Handler()}}
	if feed != nil {
		d.Wake = feed.Wake()
	}
	return d
}

// BuildSchema assembles the GraphQL schema from the modules.
func BuildSchema(modules []gql.Module) (graphql.Schema, error) {
	return gql.NewBuilder().Build(modules...)
}

// NewLogger is the process logger: HOTLINE_LOG_LEVEL and HOTLINE_LOG_FORMAT
// to w, with repeats of one error limited (lograte), so a fault every
// request hits, such as a database that went away, writes a few lines and
// a count rather than one line per request.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(lograte.New(h, lograte.Options{Burst: LogRepeatBurst, Window: LogRepeatWindow}))
}

// How many records of one error the log takes per window; the rest are
// counted into one summary line at the window's end.
const (
	LogRepeatBurst  = lograte.DefaultBurst
	LogRepeatWindow = lograte.DefaultWindow
)

// Serve runs the platform until ctx ends or SIGTERM/SIGINT arrives.
func Serve(ctx context.Context, cfg Config, opts Options, log *slog.Logger) (err error) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// HTTP comes up first so /healthz answers and /readyz says "not yet"
	// while the database starts and migrates.
	var ready atomic.Bool
	// probe is set once the pool is open; readiness then follows the
	// database, so a balancer stops sending work to a node whose database
	// is gone instead of it answering every request with an error.
	var probe atomic.Pointer[store.Probe]
	var dbDown atomic.Bool
	var api atomic.Pointer[http.Handler]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		p := probe.Load()
		if !ready.Load() || p == nil {
			http.Error(w, "not ready: starting or stopping (database, migrations, configuration)", http.StatusServiceUnavailable)
			return
		}
		if err := p.Check(r.Context()); err != nil {
			// Logged when it changes, not per probe.
			if !dbDown.Swap(true) {
				log.Error("not ready: PostgreSQL unreachable", "error", err)
			}
			http.Error(w, "not ready: database unreachable", http.StatusServiceUnavailable)
			return
		}
		if dbDown.Swap(false) {
			log.Info("ready again: PostgreSQL answers")
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.Handle("/graphiql", gql.GraphiQLHandler("/graphql"))
	mux.Handle("/graphiql/", gql.GraphiQLHandler("/graphql"))
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
		h := api.Load()
		if h == nil {
			http.Error(w, `{"errors":[{"message":"服务正在启动，请稍后重试","extensions":{"code":"INTERNAL"}}]}`, http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	})
	// The modules' routes (uploads, downloads), answered with 503 until
	// the modules are up; everything else is the web workstations, which
	// never answer the server's prefixes (ui.Reserved). The patterns are
	// known before the kernel starts: the modules of a node not yet
	// running declare the same routes.
	var routes atomic.Pointer[http.ServeMux]
	declared := moduleRoutes(Modules(), nil)
	web := ui.App()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m := routes.Load(); m != nil {
			if _, pattern := m.Handler(r); pattern != "" {
				m.ServeHTTP(w, r)
				return
			}
		} else if _, pattern := declared.Handler(r); pattern != "" {
			http.Error(w, "服务正在启动，请稍后重试", http.StatusServiceUnavailable)
			return
		}
		web.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on HOTLINE_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("http listening", "addr", ln.Addr().String())

	shutdown := func() {
		// Stop accepting, let in-flight requests finish, then close storage.
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}

	k, err := start(ctx, cfg, opts, log)
	if err != nil {
		shutdown()
		return err
	}
	defer k.close(log)

	var sip *telephony.Server
	if cfg.SIPAddr != "" {
		prompts := cfg.PromptsDir
		if !filepath.IsAbs(prompts) {
			prompts = filepath.Join(cfg.ConfigDir, prompts)
		}
		sip = &telephony.Server{Config: k.cfg.Runtime, Pool: k.pool, Log: log.With("part", "sip"),
			Runner: &ivr.Runner{Scripts: k.tickets.Scripts}, Agents: k.agents, ACD: k.acd, Tickets: k.tickets, Identity: k.ids, Files: cfg.Files(),
			Cfg: telephony.Config{Addr: cfg.SIPAddr, RTPFirst: cfg.RTPFirst, RTPLast: cfg.RTPLast, Prompts: prompts,
				Spool: filepath.Join(cfg.DataDir, "spool", "recordings"), Node: k.node, IntakeUser: cfg.IVRUser,
				RecordingRetention: time.Duration(cfg.RecordingDays) * 24 * time.Hour,
				MaxMessage:         cfg.SIPMaxMessage, MaxHeaders: cfg.SIPMaxHeaders, Rate: cfg.SIPRate}}
	}
	// The outbox: one LISTEN connection per node (wake-ups, notices and
	// ticket changes for subscribers), run by the outbox module.
	feed := &outbox.Feed{Pool: k.pool, Log: log.With("part", "outbox")}
	modules := k.modules(cfg, sip, feed, log)
	live, err := newLiveAPI(k.cfg.Runtime.Current, func() (http.Handler, error) {
		schemaDef, err := BuildSchema(graphQL(modules))
		if err != nil {
			return nil, err
		}
		opts := gql.HandlerOptions{
			Logger: log, TrustProxy: cfg.TrustProxy,
			Authenticate: func(ctx context.Context, r *http.Request) (context.Context, error) {
				return Authenticate(ctx, k.ids, r)
			},
			// Sockets close with the server, not when a request ends.
			WebSocket: gql.WSOptions{Shutdown: ctx},
			// A dead database is UNAVAILABLE to clients, not INTERNAL.
			Unavailable: store.Unavailable,
		}
		overHTTP := gql.NewHandler(schemaDef, opts)
		// A socket's token is checked once, at connection_init: a bad one
		// closes it (4403) rather than failing each subscription.
		opts.Authenticate = func(ctx context.Context, r *http.Request) (context.Context, error) {
			ctx, err := Authenticate(ctx, k.ids, r)
			if err != nil {
				return ctx, err
			}
			if _, ok := identity.FromContext(ctx); !ok && r.Header.Get("Authorization") != "" {
				return ctx, gql.Errorf(gql.Unauthenticated, "登录已失效，请重新登录")
			}
			return ctx, nil
		}
		overWS := gql.NewWSHandler(schemaDef, opts)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gql.IsWebSocketUpgrade(r) {
				overWS.ServeHTTP(w, r)
				return
			}
			overHTTP.ServeHTTP(w, r)
		}), nil
	}, log)
	if err != nil {
		shutdown()
		return err
	}
	// The modules start in the list's order (and stop in reverse): the
	// knowledge index opens, SIP listens, timers, the distributor and the
	// outbox dispatcher run, and each follows configuration changes.
	node := &module.Node{Modules: modules, Config: k.cfg.Runtime, Log: log}
	if err := node.Start(ctx); err != nil {
		shutdown()
		return err
	}
	defer func() {
		if err := node.Stop(context.Background()); err != nil {
			log.Warn("stopping the modules", "err", err)
		}
	}()
	var h http.Handler = live
	api.Store(&h)
	routes.Store(moduleRoutes(modules, func(r *http.Request) (*identity.Principal, error) {
		// Downloads and uploads sign in as GraphQL does.
		ctx, err := Authenticate(r.Context(), k.ids, r)
		if err != nil {
			return nil, err
		}
		p, _ := identity.FromContext(ctx)
		return p, nil
	}))
	probe.Store(&store.Probe{DB: k.pool, Timeout: ReadyPingTimeout, CacheFor: ReadyPingCacheFor})
	ready.Store(true)
	if opts.Listening != nil {
		opts.Listening <- ln.Addr().String()
	}
	log.Info("hotline ready", "http", "http://"+ln.Addr().String(), "graphiql", "http://"+ln.Addr().String()+"/graphiql")

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			res, err := k.cfg.Reload(ctx, audit.System)
			switch {
			case err != nil:
				log.Error("configuration reload failed", "err", err)
			case !res.Problems.Empty():
				for _, p := range res.Problems {
					log.Error("configuration problem; running version kept", "problem", p.String())
				}
			default:
				log.Info("configuration reloaded", "changes", len(res.Changes))
			}
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serving HTTP: %w", err)
			}
			return nil
		case <-ctx.Done():
			log.Info("shutting down")
			ready.Store(false)
			shutdown()
			return nil
		}
	}
}

// WatchInterval is how often serve --watch looks at the configuration
// folders.
const WatchInterval = time.Second

// Readiness pings the database at most once per ReadyPingCacheFor, and a
// ping slower than ReadyPingTimeout reads as down.
const (
	ReadyPingTimeout  = store.DefaultProbeTimeout
	ReadyPingCacheFor = store.DefaultProbeCacheFor
)

// Authenticate turns the bearer token of a request into the principal in
// its context, and records where the request came from for the audit log.
func Authenticate(ctx context.Context, ids *identity.Service, r *http.Request) (context.Context, error) {
	info := gql.RequestInfoFrom(ctx)
	ctx = audit.WithSource(ctx, audit.Source{RemoteAddr: info.RemoteAddr, UserAgent: info.UserAgent})
	h := r.Header.Get("Authorization")
	if h == "" {
		return ctx, nil
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return identity.WithAuthError(ctx, gql.Errorf(gql.Unauthenticated, "Authorization 头须为 Bearer <token>")), nil
	}
	p, err := ids.Authenticate(ctx, strings.TrimSpace(token))
	if err != nil {
		if ge, ok := gql.AsError(err); ok && ge.Code == gql.Unauthenticated {
			return identity.WithAuthError(ctx, err), nil
		}
		return ctx, err
	}
	return identity.WithPrincipal(ctx, p), nil
}

// kernel is what start brings up and close takes down.
type kernel struct {
	pg   *pgserver.Server
	pool *pgxpool.Pool
	cfg  *configstore.Manager
	// watch is how often the configuration folders are looked at for
	// edits (serve --watch); zero: not at all.
	watch       time.Duration
	ids         *identity.Service
	tickets     *flow.Engine
	search      *ticketsearch.Searcher
	exports     *export.Service
	attachments *attachment.Service
	knowledge   *knowledge.Service // opened by its module in Serve (one process holds its index)
	agents      *acd.Service
	acd         *acd.Distributor // run by its module in Serve
	// node names this process in jobs and call records.
	node string
}

func (k *kernel) close(log *slog.Logger) {
	if k.pool != nil {
		k.pool.Close()
	}
	if k.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := k.pg.Stop(ctx); err != nil {
			log.Error("stopping PostgreSQL", "err", err)
		}
	}
}

// databaseName is the database the embedded server keeps the platform in.
const databaseName = "hotline"

func start(ctx context.Context, cfg Config, opts Options, log *slog.Logger) (k *kernel, err error) {
	k = &kernel{}
	defer func() {
		if err != nil {
			k.close(log)
		}
	}()
	url := cfg.DatabaseURL
	if url == "" {
		// The data folder is ours alone: a server found running there was left
		// by a crash of hotline, and is stopped with this one. Nobody else
		// would restart it if it died, so we do.
		k.pg, err = pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(cfg.DataDir, "pg"), Logger: log.With("part", "postgres"),
			Adopt: true, Supervise: true})
		if err != nil {
			return k, err
		}
		log.Info("private PostgreSQL running", "data", k.pg.DataDir(), "socket", k.pg.SocketDir(), "reused", k.pg.Reused())
		if err := ensureDatabase(ctx, k.pg.ConnString(""), databaseName); err != nil {
			return k, err
		}
		url = k.pg.ConnString(databaseName)
	}
	if k.pool, err = store.Open(ctx, url); err != nil {
		return k, err
	}
	if k.pg != nil {
		// Connections to the dead server go at once, not one failed
		// request each.
		k.pg.OnRestart(k.pool.Reset)
	}
	migrations, err := store.ReadMigrations(schema.Migrations, "migrations")
	if err != nil {
		return k, err
	}
	if _, err := store.Migrate(ctx, k.pool, migrations, log); err != nil {
		return k, err
	}

	runtime := registry.NewRuntime(nil)
	k.cfg = &configstore.Manager{Root: cfg.ConfigDir, Dirs: configstore.DefaultDirs, Store: configstore.New(k.pool), Runtime: runtime, Log: log,
		WriteBack: opts.Watch}
	if opts.Watch {
		k.watch = WatchInterval
	}
	res, err := k.cfg.Start(ctx, audit.System)
	if err != nil {
		return k, err
	}
	if !res.Problems.Empty() {
		return k, &ConfigError{Problems: res.Problems.Err()}
	}
	if opts.Watch {
		// What the developer saved while no server ran.
		res, err := k.cfg.PublishEdits(ctx, audit.System)
		if err != nil {
			return k, err
		}
		if !res.Problems.Empty() {
			return k, &ConfigError{Problems: res.Problems.Err()}
		}
	}
	if runtime.Current() == nil {
		return k, fmt.Errorf("no configuration loaded from %s", cfg.ConfigDir)
	}

	k.ids = identity.NewService(k.pool, runtime, cfg.Policy, log)
	k.tickets = flow.NewEngine(k.pool, runtime)
	k.search = &ticketsearch.Searcher{Pool: k.pool, Config: runtime, Tickets: k.tickets.Store}
	node, _ := os.Hostname()
	k.node = node
	files := cfg.Files()
	k.exports = &export.Service{Pool: k.pool, Search: k.search, Config: runtime, Files: files, Node: node, Log: log}
	if err := k.exports.Recover(ctx); err != nil {
		return k, err
	}
	k.knowledge = &knowledge.Service{Pool: k.pool, Config: runtime, Tickets: k.tickets, Dir: filepath.Join(cfg.DataDir, "knowledge"), Files: files, Node: node, Log: log}
	// Uploads are checked beside the store's folder, so storing one is a
	// rename.
	k.attachments = &attachment.Service{Pool: k.pool, Files: files, TempDir: filepath.Join(files.Root, "attachments", "incoming"),
		MaxBytes: int64(cfg.AttachmentMaxMB) << 20, Log: log, CanSee: anyOf(k.search.AttachmentVisible, k.knowledge.AttachmentPublished)}
	k.agents = &acd.Service{Pool: k.pool, Config: runtime, Log: log}
	k.acd = &acd.Distributor{Agents: k.agents, Config: runtime, Log: log.With("part", "acd")}
	adminPassword := cfg.AdminPassword
	if adminPassword == "" && opts.Demo {
		adminPassword = cfg.DemoPassword
	}
	created, generated, err := k.ids.Bootstrap(ctx, cfg.OrgName, cfg.AdminRole, adminPassword)
	if err != nil {
		return k, err
	}
	if created && generated != "" {
		// Printed once, to the terminal of whoever started the first run;
		// it must be changed at first login.
		fmt.Fprintf(os.Stderr, "\n  first start: created account 'admin' with password %s (change it at first login)\n\n", generated)
	}
	if opts.Demo {
		if err := demo.Load(ctx, demo.Services{Pool: k.pool, Identity: k.ids, Agents: k.agents, Tickets: k.tickets, Config: runtime.Current()},
			demo.Options{Password: cfg.DemoPassword, Tickets: opts.DemoTickets, Articles: opts.DemoArticles}, log); err != nil {
			return k, err
		}
	}
	return k, nil
}

// ConfigError is a configuration that failed lint at start: the server
// refuses to run it.
type ConfigError struct{ Problems error }

func (e *ConfigError) Error() string {
	return "the configuration has problems; fix them (hotline lint shows the same list) and publish the fix (hotline config push):\n" + e.Problems.Error()
}

func ensureDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to private PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("looking for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// anyOf allows a download when any of the checks does: a file on a ticket
// in the reader's scope, or of a published knowledge article.
func anyOf(checks ...func(context.Context, *identity.Principal, string) (bool, error)) func(context.Context, *identity.Principal, string) (bool, error) {
	return func(ctx context.Context, p *identity.Principal, id string) (bool, error) {
		for _, c := range checks {
			if ok, err := c(ctx, p, id); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
}
