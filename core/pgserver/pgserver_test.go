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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// logBuffer keeps what a server logged, for tests that read its account of
// a restart; it also goes to the test log.
type logBuffer struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	b.t.Log(line)
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	return len(p), nil
}

func (b *logBuffer) matching(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func startSupervised(t *testing.T, dataDir string, opts Options) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{t: t}
	opts.DataDir, opts.Settings, opts.Supervise = dataDir, testSettings, true
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := Start(testContext(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, s.Stop(ctx))
	})
	return s, logs
}

// killPostmaster SIGKILLs the server's postmaster, as the OOM killer or an
// operator's mistake would, and waits until it is gone.
func killPostmaster(t *testing.T, dataDir string) int {
	t.Helper()
	pid, _, _, ok := readPostmasterPID(dataDir)
	require.True(t, ok)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return !processAlive(pid) }, 10*time.Second, 10*time.Millisecond)
	return pid
}

func TestSupervisedServerComesBackAfterKill(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")
	s, logs := startSupervised(t, dataDir, Options{})
	ctx := testContext(t)
	pool, err := pgxpool.New(ctx, s.ConnString(""))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s.OnRestart(pool.Reset)
	_, err = pool.Exec(ctx, "create table marker (n int); insert into marker values (7)")
	require.NoError(t, err)
	// synchronous_commit=off may lose the insert to a crash; make it durable.
	_, err = pool.Exec(ctx, "checkpoint")
	require.NoError(t, err)

	for round := 1; round <= 2; round++ {
		old := killPostmaster(t, dataDir)
		start := time.Now()
		var n int
		var last error
		if !assert.Eventually(t, func() bool {
			last = pool.QueryRow(ctx, "select n from marker").Scan(&n)
			return last == nil
		}, 20*time.Second, 50*time.Millisecond, "queries work again through the same pool") {
			t.Fatal(last)
		}
		t.Logf("round %d: back after %v", round, time.Since(start))
		assert.Equal(t, 7, n)
		// The server answers a moment before supervision counts it back.
		require.Eventually(t, func() bool { return s.Restarts() == round }, 10*time.Second, 10*time.Millisecond)
		assert.NotEqual(t, old, s.PID())
		assert.True(t, processAlive(s.PID()))
	}
	assert.Len(t, logs.matching("PostgreSQL postmaster is gone"), 2)
	assert.Len(t, logs.matching("PostgreSQL restarted"), 2)
	if os.Geteuid() == 0 {
		requireServerOwned(t, dataDir)
		cred, err := lookupServerUser()
		require.NoError(t, err)
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.PID()), "status"))
		require.NoError(t, err)
		assert.Regexp(t, `(?m)^Uid:\s+`+strconv.Itoa(int(cred.Uid))+`\s`, string(status), "the restarted server runs as the server user, not root")
	}

	// Stop ends supervision first: the server stays down.
	pid := s.PID()
	require.NoError(t, s.Stop(testContext(t)))
	// pg_ctl stop returns once postmaster.pid is gone, a moment before the
	// process itself.
	require.Eventually(t, func() bool { return !processAlive(pid) }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(3 * superviseInterval)
	assert.NoFileExists(t, filepath.Join(dataDir, "postmaster.pid"), "not started again after Stop")
	assert.Equal(t, 2, s.Restarts())
}

func TestSupervisedRestartBacksOffWhileItFails(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")
	s, logs := startSupervised(t, dataDir, Options{RestartBackoff: 50 * time.Millisecond, RestartBackoffMax: 200 * time.Millisecond})
	// postgres refuses a data dir others can read; restarts fail until it
	// is private again.
	require.NoError(t, os.Chmod(dataDir, 0o777))
	killPostmaster(t, dataDir)
	require.Eventually(t, func() bool { return len(logs.matching("restarting PostgreSQL failed")) >= 5 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, os.Chmod(dataDir, 0o700))
	require.Eventually(t, func() bool { return s.Restarts() == 1 }, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, connect(testContext(t), s.ConnString("")))

	failures := logs.matching("restarting PostgreSQL failed")
	var delays []string
	for _, l := range failures[:5] {
		_, after, ok := strings.Cut(l, "retry_in=")
		require.True(t, ok, l)
		delays = append(delays, strings.Fields(after)[0])
	}
	assert.Equal(t, []string{"50ms", "100ms", "200ms", "200ms", "200ms"}, delays, "doubling, capped")
	assert.Contains(t, failures[0], "invalid permissions", "the server's reason is logged")
}

func TestSupervisionFollowsAdoption(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pg")
	startServer(t, dataDir) // a leftover, as if its owner had crashed

	// Not adopted: not ours, so not restarted.
	visitor, _ := startSupervised(t, dataDir, Options{})
	require.True(t, visitor.Reused())
	// Adopted: ours, so restarted.
	adopter, _ := startSupervised(t, dataDir, Options{Adopt: true})
	require.True(t, adopter.Reused())

	killPostmaster(t, dataDir)
	require.Eventually(t, func() bool { return adopter.Restarts() == 1 }, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, connect(testContext(t), adopter.ConnString("")))
	assert.Zero(t, visitor.Restarts())
	assert.Nil(t, visitor.supervision, "a server that is not ours is not supervised")

	require.NoError(t, adopter.Stop(testContext(t)))
	assert.Error(t, connect(testContext(t), adopter.ConnString("")), "the restarted server is the adopter's to stop")
}

func TestNextBackoff(t *testing.T) {
	for _, tt := range []struct{ d, limit, want time.Duration }{
		{250 * time.Millisecond, 30 * time.Second, 500 * time.Millisecond},
		{20 * time.Second, 30 * time.Second, 30 * time.Second},
		{30 * time.Second, 30 * time.Second, 30 * time.Second},
	} {
		assert.Equal(t, tt.want, nextBackoff(tt.d, tt.limit))
	}
}
