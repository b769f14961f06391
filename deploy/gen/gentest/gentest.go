// Package gentest sets up, for tests, a database with the default
// configuration (flows/, forms/, scripts/), the demo organisation and
// accounts, and generated tickets.
package gentest

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/demo"
	"github.com/hotline12345/hotline/deploy/gen"

	// The configuration calls the knowledge base's procedures.
	_ "github.com/hotline12345/hotline/core/dispatch" // kind responsibility-list
	_ "github.com/hotline12345/hotline/core/flowtest" // kind flow-test, the flows' scenarios
	_ "github.com/hotline12345/hotline/core/ivr"
	_ "github.com/hotline12345/hotline/core/knowledge"
	_ "github.com/hotline12345/hotline/core/telephony" // telephony.bind_call, called by the ticket flow
	_ "github.com/hotline12345/hotline/core/workbench" // kind workbench, in flows/workbench
)

// Password of every account.
const Password = "Hotline@12345"

// Now is the generator's "now": tickets lie in the three years before it.
var Now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// World is a database ready for tests.
type World struct {
	Set     *registry.Set
	Runtime *registry.Runtime
	Pool    *pgxpool.Pool
	IDs     *identity.Service
	Engine  *flow.Engine
	Search  *ticketsearch.Searcher
}

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// New makes a fresh database (pgtest) with n generated tickets (seed 7).
// Beside the demo accounts there is "admin", who sees everything.
func New(t testing.TB, n int, tweak ...func(*gen.Options)) *World {
	t.Helper()
	ctx := context.Background()
	root := Root()
	set, diags := registry.Load(ctx, []string{filepath.Join(root, "flows"), filepath.Join(root, "forms"), filepath.Join(root, "scripts")}, registry.LoadOptions{})
	require.Empty(t, diags)
	w := &World{Set: set, Pool: pgtest.Pool(t)}
	_, err := configstore.New(w.Pool).Record(ctx, set, audit.System, "test")
	require.NoError(t, err)
	w.Runtime = registry.NewRuntime(set)
	w.IDs = identity.NewService(w.Pool, w.Runtime, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	sd, ok := identity.OrganisationSeed(set, demo.Organisation)
	require.True(t, ok, "the configuration has the demo organisation %s", demo.Organisation)
	data, err := fs.ReadFile(demo.Files, "users.yaml")
	require.NoError(t, err)
	users, err := identity.ParseSeed("users.yaml", data)
	require.NoError(t, err)
	sd.Users = users.Users
	sd.Users = append(sd.Users, identity.SeedUser{Username: "admin", DisplayName: "管理员", Unit: "12345", Roles: []string{"admin"}})
	_, _, err = w.IDs.LoadSeed(ctx, sd, Password)
	require.NoError(t, err)
	w.Engine = flow.NewEngine(w.Pool, w.Runtime)
	w.Engine.Store.Now = func() time.Time { return Now }
	w.Search = &ticketsearch.Searcher{Pool: w.Pool, Config: w.Runtime, Tickets: w.Engine.Store}
	opts := gen.Options{Tickets: n, Seed: 7, Now: Now, Batch: 700}
	for _, f := range tweak {
		f(&opts)
	}
	require.NoError(t, gen.Generate(ctx, w.Pool, set, opts))
	return w
}

// As signs in user.
func (w *World) As(t testing.TB, user string) *identity.Principal {
	t.Helper()
	res, err := w.IDs.Login(context.Background(), user, Password)
	require.NoError(t, err)
	return res.Principal
}
