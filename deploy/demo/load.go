package demo

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/deploy/gen"
)

// Services are what loading a demo writes through.
type Services struct {
	Pool     *pgxpool.Pool
	Identity *identity.Service
	Agents   *acd.Service
	Tickets  *flow.Engine
	// Config is the running configuration, which holds the organisation.
	Config *registry.Set
}

// Options say how much of a demo to load.
type Options struct {
	// Password is given to every demo account made.
	Password string
	// Tickets and Articles are how many generated tickets and published
	// knowledge articles an empty database gets.
	Tickets, Articles int
}

// Load makes the demo of `hotline serve --demo`: the organisation and its
// accounts, the agents, and generated tickets and articles when there are
// none. Each part adds only what is missing, so every start may call it.
func Load(ctx context.Context, s Services, opts Options, log *slog.Logger) error {
	if err := loadAccounts(ctx, s.Identity, s.Config, opts.Password, log); err != nil {
		return err
	}
	if err := loadAgents(ctx, s.Agents, opts.Password, log); err != nil {
		return err
	}
	if err := generateTickets(ctx, s.Pool, s.Config, opts.Tickets, log); err != nil {
		return err
	}
	return publishArticles(ctx, s.Pool, s.Identity, s.Tickets, opts.Password, opts.Articles, log)
}

// loadAccounts makes the units of the configuration's demo organisation
// and the accounts of users.yaml.
func loadAccounts(ctx context.Context, ids *identity.Service, set *registry.Set, password string, log *slog.Logger) error {
	sd, ok := identity.OrganisationSeed(set, Organisation)
	if !ok {
		log.Warn("no organisation " + Organisation + " in the configuration: demo accounts not made")
		return nil
	}
	data, err := fs.ReadFile(Files, "users.yaml")
	if err != nil {
		return fmt.Errorf("reading demo accounts: %w", err)
	}
	users, err := identity.ParseSeed("deploy/demo/users.yaml", data)
	if err != nil {
		return err
	}
	sd.Users = users.Users
	units, n, err := ids.LoadSeed(ctx, sd, password)
	if err != nil {
		return fmt.Errorf("loading the demo organisation and accounts: %w", err)
	}
	if units+n > 0 {
		log.Info("demo organisation and accounts loaded", "organisation", Organisation, "units", units, "users", n)
	}
	return nil
}

// loadAgents makes the demo agents of agents.yaml.
func loadAgents(ctx context.Context, agents *acd.Service, password string, log *slog.Logger) error {
	if _, ok := acd.Model(agents.Config.Current()); !ok {
		log.Warn("no agent-states document in the configuration: demo agents not made")
		return nil
	}
	data, err := fs.ReadFile(Files, "agents.yaml")
	if err != nil {
		return fmt.Errorf("reading demo agents: %w", err)
	}
	var sd acd.Seed
	if err := yaml.Unmarshal(data, &sd); err != nil {
		return fmt.Errorf("deploy/demo/agents.yaml: %w", err)
	}
	n, err := agents.LoadSeed(ctx, sd, password)
	if err != nil {
		return fmt.Errorf("loading demo agents: %w", err)
	}
	if n > 0 {
		log.Info("demo agents loaded", "agents", n)
	}
	return nil
}

// generateTickets fills an empty demo database with n generated tickets,
// so a first `make run` has lists, searches and reports to look at.
func generateTickets(ctx context.Context, pool *pgxpool.Pool, set *registry.Set, n int, log *slog.Logger) error {
	if n <= 0 {
		return nil
	}
	var have bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets)`).Scan(&have); err != nil {
		return fmt.Errorf("looking for tickets: %w", err)
	}
	if have {
		return nil
	}
	start := time.Now()
	if err := gen.Generate(ctx, pool, set, gen.Options{Tickets: n, Seed: 1}); err != nil {
		return fmt.Errorf("generating demo tickets: %w", err)
	}
	log.Info("generated demo tickets", "count", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Knowledge is written by this demo account and approved by the other
// (users.yaml).
const (
	knowledgeEditor   = "kbeditor"
	knowledgeReviewer = "kbreviewer"
)

// publishArticles publishes n generated articles into a knowledge base
// that has none, written by the demo knowledge editor and approved by the
// demo reviewer.
func publishArticles(ctx context.Context, pool *pgxpool.Pool, ids *identity.Service, eng *flow.Engine, password string, n int, log *slog.Logger) error {
	if n <= 0 {
		return nil
	}
	var have bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_articles)`).Scan(&have); err != nil {
		return fmt.Errorf("looking for knowledge articles: %w", err)
	}
	if have {
		return nil
	}
	v, err := gen.LoadKnowledgeVocabulary()
	if err != nil {
		return err
	}
	as := func(user string) (*identity.Principal, error) {
		res, err := ids.Login(ctx, user, password)
		if err != nil {
			return nil, fmt.Errorf("signing in demo account %s to publish demo knowledge: %w", user, err)
		}
		return res.Principal, nil
	}
	editor, err := as(knowledgeEditor)
	if err != nil {
		return err
	}
	reviewer, err := as(knowledgeReviewer)
	if err != nil {
		return err
	}
	start := time.Now()
	y, m, d := eng.Store.Now().Date()
	if _, err := gen.PublishArticles(ctx, eng, editor, reviewer, gen.Articles(v, 1, n, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))); err != nil {
		return fmt.Errorf("publishing demo knowledge: %w", err)
	}
	log.Info("published demo knowledge articles", "count", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
