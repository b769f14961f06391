package pgserver

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Durability is irrelevant in tests and turning it off saves seconds.
var testSettings = map[string]string{
	"fsync":              "off",
	"synchronous_commit": "off",
	"full_page_writes":   "off",
}

func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinaries(""); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startServer registers Stop with t.Cleanup so a failing test still leaves
// no server behind.
func startServer(t *testing.T, dataDir string) *Server {
	t.Helper()
	s, err := Start(testContext(t), Options{
		DataDir:  dataDir,
		Settings: testSettings,
		Logger:   testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, s.Stop(ctx))
	})
	return s
}

func execSQL(t *testing.T, s *Server, sql string) {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, s.ConnString(""))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err)
}

func queryInt(t *testing.T, s *Server, sql string) int {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, s.ConnString(""))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&n))
	return n
}

func TestStartInitialisesThenReusesCluster(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "var", "pg")

	s := startServer(t, dataDir)
	assert.False(t, s.Reused())
	assert.Equal(t, dataDir, s.DataDir())
	assert.Equal(t, dataDir, s.SocketDir(), "socket lives in the data dir when the path fits")
	assert.FileExists(t, filepath.Join(dataDir, "PG_VERSION"))
	assert.Equal(t, 1, queryInt(t, s, "select 1"))
	assert.Equal(t, 0, queryInt(t, s, "select count(*) from pg_settings where name = 'listen_addresses' and setting <> ''"),
		"no TCP listener")
	assert.Equal(t, 200, queryInt(t, s, "select setting::int from pg_settings where name = 'max_connections'"))
	execSQL(t, s, "create table marker (n int); insert into marker values (42)")
	if os.Geteuid() == 0 {
		requireServerOwned(t, dataDir)
	}
	version, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	require.NoError(t, err)

	require.NoError(t, s.Stop(testContext(t)))
	require.NoError(t, s.Stop(testContext(t)), "Stop is idempotent")
	assert.NoFileExists(t, filepath.Join(dataDir, "postmaster.pid"))
	_, err = pgx.Connect(testContext(t), s.ConnString(""))
	assert.Error(t, err, "server is down after Stop")

	s2 := startServer(t, dataDir)
	assert.False(t, s2.Reused())
	assert.Equal(t, 42, queryInt(t, s2, "select n from marker"), "the first run's data survives")
	again, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	require.NoError(t, err)
	assert.Equal(t, version.ModTime(), again.ModTime(), "no second initdb")
}

func requireServerOwned(t *testing.T, dataDir string) {
	t.Helper()
	cred, err := lookupServerUser()
	require.NoError(t, err)
	uid, _, err := owner(dataDir)
	require.NoError(t, err)
	assert.Equal(t, cred.Uid, uid)
	fi, err := os.Stat(dataDir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
}

func TestStartReusesRunningServer(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")

	first := startServer(t, dataDir)
	second := startServer(t, dataDir)
	assert.False(t, first.Reused())
	assert.True(t, second.Reused())
	assert.Equal(t, first.ConnString("x"), second.ConnString("x"))
	assert.Equal(t, 1, queryInt(t, second, "select 1"))

	require.NoError(t, second.Stop(testContext(t)))
	assert.Equal(t, 1, queryInt(t, first, "select 1"), "a reused server is not ours to stop")
	require.NoError(t, first.Stop(testContext(t)))
	_, err := pgx.Connect(testContext(t), first.ConnString(""))
	assert.Error(t, err)
}

func TestAdoptedServerIsStopped(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")
	leftover := startServer(t, dataDir) // as if its owner had crashed

	adopter, err := Start(testContext(t), Options{DataDir: dataDir, Settings: testSettings, Logger: testLogger(t), Adopt: true})
	require.NoError(t, err)
	assert.True(t, adopter.Reused())
	assert.Equal(t, 1, queryInt(t, adopter, "select 1"))
	require.NoError(t, adopter.Stop(testContext(t)))
	_, err = pgx.Connect(testContext(t), leftover.ConnString(""))
	assert.Error(t, err, "an adopted server is stopped with its adopter")
}

func TestLongDataDirFallsBackToShortSocketDir(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	// The space checks quoting in the -o options and the conn string.
	dataDir := filepath.Join(t.TempDir(), "with space", strings.Repeat("x", 100))

	s := startServer(t, dataDir)
	assert.NotEqual(t, dataDir, s.SocketDir())
	assert.True(t, strings.HasPrefix(filepath.Base(s.SocketDir()), "hotline-pg-"), s.SocketDir())
	assert.LessOrEqual(t, len(filepath.Join(s.SocketDir(), ".s.PGSQL.5432")), maxSocketPath)
	assert.Equal(t, 1, queryInt(t, s, "select 1"))

	require.NoError(t, s.Stop(testContext(t)))
	assert.NoDirExists(t, s.SocketDir(), "our fallback socket dir is removed")
}

func TestMissingBinaries(t *testing.T) {
	empty := t.TempDir()
	_, err := FindBinaries(empty)
	require.ErrorIs(t, err, ErrNoBinaries)

	dataDir := filepath.Join(t.TempDir(), "pg")
	_, err = Start(testContext(t), Options{DataDir: dataDir, BinDir: empty})
	require.ErrorIs(t, err, ErrNoBinaries)
	assert.NoDirExists(t, dataDir)
	assert.Contains(t, err.Error(), `apt-get install postgresql`)
	assert.Contains(t, err.Error(), "HOTLINE_DATABASE_URL")
	assert.NotContains(t, err.Error(), "\n", "one clear line")
}

func TestFindBinariesDefault(t *testing.T) {
	requireBinaries(t)
	dir, err := FindBinaries("")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "pg_ctl"))
}

func TestVersionOrder(t *testing.T) {
	assert.Positive(t, compareKeys("/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/9.6/bin"))
	assert.Positive(t, compareKeys("/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/beta/bin"))
}

func compareKeys(a, b string) int {
	ka, kb := versionKey(a), versionKey(b)
	for i := range min(len(ka), len(kb)) {
		if ka[i] != kb[i] {
			return ka[i] - kb[i]
		}
	}
	return len(ka) - len(kb)
}

func TestServerOptionsQuoting(t *testing.T) {
	got, err := serverOptions("/tmp/it's here", 5432, map[string]string{"fsync": "off"})
	require.NoError(t, err)
	assert.Equal(t, `-c 'fsync=off' -c 'listen_addresses=' -c 'max_connections=200' -c 'port=5432' -c 'unix_socket_directories="/tmp/it'\''s here"'`, got)

	_, err = serverOptions("/tmp", 5432, map[string]string{"bad name; rm": "x"})
	assert.Error(t, err)
}

func TestConnString(t *testing.T) {
	s := &Server{socketDir: "/a b/it's", port: 5432, user: "hotline"}
	assert.Equal(t, `host='/a b/it\'s' port=5432 user=hotline dbname=postgres sslmode=disable`, s.ConnString(""))
	_, err := pgx.ParseConfig(s.ConnString("db"))
	assert.NoError(t, err)
}

func TestStartAfterCrashIgnoresStalePID(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")
	crashed := startServer(t, dataDir)
	execSQL(t, crashed, "create table marker (n int); insert into marker values (7)")
	// synchronous_commit=off may lose the insert to a crash; make it durable.
	execSQL(t, crashed, "checkpoint")

	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	// Its children notice the postmaster's death and leave shortly after;
	// wait for the socket to go quiet like a real crash would leave it.
	require.Eventually(t, func() bool {
		return syscall.Kill(pid, 0) != nil && connect(testContext(t), crashed.ConnString("")) != nil
	}, 10*time.Second, 20*time.Millisecond)
	require.FileExists(t, filepath.Join(dataDir, "postmaster.pid"), "the crash leaves its lock file")

	s := startServer(t, dataDir)
	assert.False(t, s.Reused(), "a dead server is started afresh, not reused")
	assert.Equal(t, 7, queryInt(t, s, "select n from marker"))
}

func TestStartFailureIncludesServerLog(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	settings := map[string]string{"max_connections": "lots"}
	for k, v := range testSettings {
		settings[k] = v
	}
	_, err := Start(testContext(t), Options{DataDir: filepath.Join(t.TempDir(), "pg"), Settings: settings, Logger: testLogger(t)})
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "starting PostgreSQL")
	assert.Contains(t, err.Error(), `invalid value for parameter "max_connections"`, "server log tail is included")
}
