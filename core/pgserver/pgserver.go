// Package pgserver runs a private PostgreSQL server from the binaries
// installed on the machine: the embedded default of "hotline serve" when no
// HOTLINE_DATABASE_URL is set, and the per-run server of the test suite.
//
// The server listens only on a unix socket (no TCP port to clash with). A
// server already running in the data dir, for example one left behind by a
// crashed run, is reused rather than fought over, and Stop leaves it running
// because it is not ours to stop.
//
// A server can be supervised (Options.Supervise): when its postmaster dies
// it is started again, with a growing pause between failed attempts, and
// whoever holds connections to it is told (OnRestart) so they drop the
// dead ones.
package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	defaultSuperUser = "hotline"
	defaultPort      = 5432
	// defaultWait bounds pg_ctl and readiness waits when ctx has no deadline.
	defaultWait = 60 * time.Second
	// maxSocketPath is sun_path (108 bytes on Linux) minus the trailing NUL.
	maxSocketPath = 107
	// logName lives in the data dir: only the server user can write there
	// when we run as root, and "log" is PostgreSQL's own log_directory.
	logName = "log/server.log"
)

// Options configures Start.
type Options struct {
	DataDir   string            // required; created if missing
	BinDir    string            // optional override; otherwise see FindBinaries
	SuperUser string            // default "hotline"
	Settings  map[string]string // extra -c settings; they win over our defaults
	Logger    *slog.Logger      // default slog.Default()
	// Adopt makes a server found already running in DataDir ours: Stop
	// stops it. For a data folder private to one program (hotline serve),
	// a running server there is a leftover of a crash of that program.
	Adopt bool
	// Supervise restarts the server when its postmaster dies, until Stop.
	// A reused server that is not adopted is not ours and is not
	// supervised.
	Supervise bool
	// RestartBackoff is the pause after the first failed restart; it
	// doubles after each further failure up to RestartBackoffMax.
	// Defaults: DefaultRestartBackoff, DefaultRestartBackoffMax.
	RestartBackoff    time.Duration
	RestartBackoffMax time.Duration
}

// Defaults of the supervision.
const (
	DefaultRestartBackoff    = 250 * time.Millisecond
	DefaultRestartBackoffMax = 30 * time.Second
	// superviseInterval is how often the postmaster is looked at: a kill(2)
	// probe, cheap enough to make a dead server noticed within a second.
	superviseInterval = 200 * time.Millisecond
)

// Server is a running private PostgreSQL server.
type Server struct {
	dataDir  string
	binDir   string
	user     string
	adopt    bool
	settings map[string]string

	// addrMu guards what a restart changes while others read it. Only the
	// goroutine that starts the server writes these, under addrMu.
	addrMu    sync.Mutex
	socketDir string
	port      int
	pid       int // postmaster we started; 0 when reused
	reused    bool
	// ownSocketDir marks a fallback directory under os.TempDir that we made
	// and remove again on Stop.
	ownSocketDir bool
	runAs        *syscall.Credential // nil unless we are root
	logger       *slog.Logger

	mu      sync.Mutex
	stopped bool

	backoff, backoffMax time.Duration
	// supervision is nil unless Supervise started it.
	supervision *supervision
	restarts    atomic.Int64
	hooksMu     sync.Mutex
	onRestart   []func()
}

// Start initialises DataDir on first use, then starts the server (or reuses
// one already running there) and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("starting PostgreSQL: Options.DataDir is required")
	}
	s := &Server{user: opts.SuperUser, logger: opts.Logger, port: defaultPort, adopt: opts.Adopt, settings: maps.Clone(opts.Settings),
		backoff: opts.RestartBackoff, backoffMax: opts.RestartBackoffMax}
	if s.backoff <= 0 {
		s.backoff = DefaultRestartBackoff
	}
	if s.backoffMax < s.backoff {
		s.backoffMax = max(s.backoff, DefaultRestartBackoffMax)
	}
	if s.user == "" {
		s.user = defaultSuperUser
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if p, ok := opts.Settings["port"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > math.MaxUint16 {
			return nil, fmt.Errorf("starting PostgreSQL: invalid port setting %q", p)
		}
		s.port = n
	}

	abs, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving PostgreSQL data dir %q: %w", opts.DataDir, err)
	}
	// Binaries first, so a machine without them gets no stray data dir.
	if s.binDir, err = findBinaries(opts.BinDir, clusterVersion(abs)); err != nil {
		return nil, err
	}
	if s.dataDir, err = makeDataDir(abs); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if s.runAs, err = lookupServerUser(); err != nil {
			return nil, err
		}
	}
	s.logger = s.logger.With("data_dir", s.dataDir)
	if err := s.prepareDataDir(); err != nil {
		return nil, err
	}
	if err := s.initdb(ctx, opts.Settings); err != nil {
		return nil, err
	}
	if err := s.prepareLogDir(); err != nil {
		return nil, err
	}
	reused, err := s.reuseRunning(ctx)
	if err != nil {
		return nil, err
	}
	if !reused {
		if err := s.prepareSocketDir(); err != nil {
			return nil, err
		}
		if err := s.start(ctx, opts.Settings); err != nil {
			return nil, err
		}
	}
	if opts.Supervise && (!reused || s.adopt) {
		s.supervise()
	}
	return s, nil
}

// DataDir is the absolute data directory with symlinks resolved.
func (s *Server) DataDir() string { return s.dataDir }

// SocketDir is the directory holding the server's unix socket.
func (s *Server) SocketDir() string {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.socketDir
}

// Reused reports whether Start found the server already running.
func (s *Server) Reused() bool {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.reused
}

// PID is the postmaster's process id; 0 for a reused server not adopted.
func (s *Server) PID() int {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.pid
}

// ConnString is a libpq keyword/value string for database over the unix
// socket; "" means the "postgres" database.
func (s *Server) ConnString(database string) string {
	if database == "" {
		database = "postgres"
	}
	s.addrMu.Lock()
	dir, port := s.socketDir, s.port
	s.addrMu.Unlock()
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		connValue(dir), port, connValue(s.user), connValue(database))
}

// Stop shuts the server down with a fast shutdown (sessions are ended,
// everything committed is kept) and waits for it to exit. A reused server is
// left running. Supervision ends first, so the server is not started again
// behind Stop's back; a restart in progress is waited for. Calling Stop
// again is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	if err := s.endSupervision(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	if s.reused && !s.adopt {
		s.stopped = true
		s.logger.Info("leaving reused PostgreSQL server running")
		return nil
	}
	// The server may have crashed and been restarted by someone else since;
	// that one is not ours to stop.
	if pid, _, _, ok := readPostmasterPID(s.dataDir); ok && pid == s.pid {
		out, err := s.command(ctx, "pg_ctl", "stop", "-D", s.dataDir, "-m", "fast", "-w", "-t", waitSeconds(ctx)).CombinedOutput()
		if err != nil && s.isRunning(ctx) {
			return fmt.Errorf("stopping PostgreSQL in %s: %w: %s", s.dataDir, err, oneLine(out))
		}
		s.logger.Info("PostgreSQL stopped")
	} else {
		s.logger.Info("PostgreSQL we started is no longer running")
	}
	s.stopped = true
	if s.ownSocketDir {
		_ = os.Remove(s.socketDir) // only succeeds when empty, which is fine
	}
	return nil
}

func makeDataDir(abs string) (string, error) {
	// Parents stay 0755 so they need no fixing for the server user; only
	// the data dir itself is private.
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return "", fmt.Errorf("creating parent of PostgreSQL data dir: %w", err)
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating PostgreSQL data dir: %w", err)
	}
	// postgres records and checks the path it was started with; resolving
	// symlinks keeps that stable and makes the parents we fix the real ones.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving PostgreSQL data dir %q: %w", abs, err)
	}
	return real, nil
}

// clusterVersion is the major version an existing cluster was made with.
func clusterVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (s *Server) prepareDataDir() error {
	if err := s.allowTraversal(s.dataDir); err != nil {
		return err
	}
	if err := s.ownTree(s.dataDir); err != nil {
		return err
	}
	// postgres refuses a data dir that group or others can write or read
	// beyond 0750; 0700 is what initdb would make.
	fi, err := os.Stat(s.dataDir)
	if err != nil {
		return fmt.Errorf("checking PostgreSQL data dir: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(s.dataDir, 0o700); err != nil {
			return fmt.Errorf("making PostgreSQL data dir private: %w", err)
		}
	}
	return nil
}

func (s *Server) initdb(ctx context.Context, settings map[string]string) error {
	if clusterVersion(s.dataDir) != "" {
		return nil
	}
	s.logger.Info("initialising PostgreSQL cluster", "bin_dir", s.binDir, "superuser", s.user)
	args := []string{"-D", s.dataDir, "--encoding=UTF8", "--locale=C.UTF-8", "-U", s.user,
		"--auth-local=trust", "--auth-host=scram-sha-256"}
	// Whoever turns fsync off has said durability does not matter (tests),
	// so initdb may skip its own syncing too, which saves seconds.
	if strings.EqualFold(settings["fsync"], "off") {
		args = append(args, "--no-sync")
	}
	out, err := s.command(ctx, "initdb", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initialising PostgreSQL cluster in %s: %w\n%s", s.dataDir, err, lastLines(out, 20))
	}
	s.logger.Debug("initdb finished", "output", string(out))
	return nil
}

func (s *Server) logFile() string { return filepath.Join(s.dataDir, logName) }

func (s *Server) prepareLogDir() error {
	dir := filepath.Dir(s.logFile())
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating PostgreSQL log dir: %w", err)
	}
	return s.own(dir)
}

// reuseRunning adopts a server that is already up in the data dir, found
// through the socket postmaster.pid names. A stale postmaster.pid from a
// crash (whose pid may now belong to another process) has no one answering
// on that socket, so we fall through to a normal start, and postgres itself
// clears the stale lock.
func (s *Server) reuseRunning(ctx context.Context) (bool, error) {
	pid, port, socketDir, ok := readPostmasterPID(s.dataDir)
	if !ok {
		return false, nil
	}
	probe := &Server{socketDir: socketDir, port: port, user: s.user}
	up, err := waitReady(ctx, probe.ConnString(""), true)
	if err != nil {
		return false, fmt.Errorf("connecting to PostgreSQL already running in %s: %w", s.dataDir, err)
	}
	if !up {
		return false, nil
	}
	s.addrMu.Lock()
	s.socketDir, s.port, s.reused = socketDir, port, true
	if s.adopt {
		s.pid = pid
	}
	s.addrMu.Unlock()
	s.logger.Info("reusing PostgreSQL server already running", "socket_dir", socketDir, "port", port)
	return true, nil
}

// prepareSocketDir puts the socket in the data dir unless the socket path
// would exceed the kernel's limit; then it uses a short private directory
// under os.TempDir named after the data dir, so restarts find the same one.
func (s *Server) prepareSocketDir() error {
	if socketFits(s.dataDir, s.port) {
		s.setSocketDir(s.dataDir, false)
		return nil
	}
	sum := sha256.Sum256([]byte(s.dataDir))
	name := "hotline-pg-" + hex.EncodeToString(sum[:4])
	dir := filepath.Join(os.TempDir(), name)
	if !socketFits(dir, s.port) {
		dir = filepath.Join("/tmp", name)
	}
	s.logger.Info("PostgreSQL socket path in the data dir is too long; using a private temp dir",
		"socket_dir", dir, "limit_bytes", maxSocketPath)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating PostgreSQL socket dir: %w", err)
	}
	// The temp dir is shared with other users: refuse a symlink or a
	// directory someone else planted under our predictable name.
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking PostgreSQL socket dir: %w", err)
	}
	uid, _, err := owner(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || (uid != uint32(os.Geteuid()) && (s.runAs == nil || uid != s.runAs.Uid)) {
		return fmt.Errorf("PostgreSQL socket dir %s is not a directory owned by us; remove it and retry", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("making PostgreSQL socket dir private: %w", err)
	}
	if err := s.allowTraversal(dir); err != nil {
		return err
	}
	if err := s.own(dir); err != nil {
		return err
	}
	s.setSocketDir(dir, true)
	return nil
}

func (s *Server) setSocketDir(dir string, own bool) {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	s.socketDir, s.ownSocketDir = dir, own
}

func socketFits(dir string, port int) bool {
	return len(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))) <= maxSocketPath
}

// start uses pg_ctl rather than running postgres as our child: pg_ctl
// detaches the postmaster into its own session (a Ctrl-C aimed at hotline
// does not kill the database mid-write), waits on postmaster.pid for the
// server's own "ready" report and notices early exits, and leaves a server
// an operator can manage with the standard tools.
func (s *Server) start(ctx context.Context, settings map[string]string) error {
	options, err := serverOptions(s.socketDir, s.port, settings)
	if err != nil {
		return err
	}
	s.logger.Info("starting PostgreSQL", "bin_dir", s.binDir, "socket_dir", s.socketDir, "log", s.logFile())
	out, err := s.command(ctx, "pg_ctl", "start", "-w", "-t", waitSeconds(ctx),
		"-D", s.dataDir, "-l", s.logFile(), "-o", options).CombinedOutput()
	if err != nil {
		s.abandon()
		return fmt.Errorf("starting PostgreSQL in %s: %w: %s%s", s.dataDir, err, oneLine(out), s.logTail())
	}
	// Settings may have moved the socket; postmaster.pid has the truth.
	pid, port, dir, ok := readPostmasterPID(s.dataDir)
	if !ok {
		s.abandon()
		return fmt.Errorf("starting PostgreSQL in %s: pg_ctl succeeded but postmaster.pid is unreadable", s.dataDir)
	}
	s.addrMu.Lock()
	s.pid, s.port, s.socketDir = pid, port, dir
	s.addrMu.Unlock()
	if _, err := waitReady(ctx, s.ConnString(""), false); err != nil {
		s.abandon()
		return fmt.Errorf("waiting for PostgreSQL in %s to accept connections: %w%s", s.dataDir, err, s.logTail())
	}
	s.logger.Info("PostgreSQL ready", "socket_dir", s.socketDir)
	return nil
}

// abandon stops a server whose start we gave up on, so a failed or
// cancelled Start leaves no orphan behind. Errors are moot: usually nothing
// is running.
func (s *Server) abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = s.command(ctx, "pg_ctl", "stop", "-D", s.dataDir, "-m", "immediate", "-w", "-t", "10").Run()
}

// isRunning reports what pg_ctl status says; exit status 3 means stopped.
func (s *Server) isRunning(ctx context.Context) bool {
	err := s.command(ctx, "pg_ctl", "status", "-D", s.dataDir).Run()
	var exitErr *exec.ExitError
	return !(errors.As(err, &exitErr) && exitErr.ExitCode() == 3)
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...)
	// Our working directory (say /root) may be closed to the server user.
	cmd.Dir = "/"
	cmd.Env = serverEnv()
	// pg_ctl hands the postmaster a log file, not our pipe; this is only a
	// guard so a stray descendant holding the pipe cannot hang us.
	cmd.WaitDelay = 5 * time.Second
	if s.runAs != nil {
		// With no Groups, the child also drops root's supplementary groups.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.runAs}
	}
	return cmd
}

// serverEnv drops PG* variables: PGPORT, PGDATA and friends set for some
// other server on this machine must not steer our private one.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG")
	})
}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// serverOptions builds pg_ctl's -o string. pg_ctl runs it through /bin/sh,
// so every -c argument is shell-quoted.
func serverOptions(socketDir string, port int, settings map[string]string) (string, error) {
	all := map[string]string{
		"listen_addresses": "",
		// A list setting: double quotes keep commas or spaces in the path.
		"unix_socket_directories": `"` + strings.ReplaceAll(socketDir, `"`, `""`) + `"`,
		"port":                    strconv.Itoa(port),
		"max_connections":         "200",
	}
	for name, value := range settings {
		if !settingName.MatchString(name) {
			return "", fmt.Errorf("starting PostgreSQL: invalid setting name %q", name)
		}
		all[name] = value
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("-c " + shellQuote(name+"="+all[name]))
	}
	return b.String(), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// connValue quotes a libpq keyword/value when it needs it.
func connValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// readPostmasterPID returns the pid (line 1), port (line 4) and first
// socket directory (line 5) a running or crashed server recorded.
func readPostmasterPID(dataDir string) (pid, port int, socketDir string, ok bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, 0, "", false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 {
		return 0, 0, "", false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	socketDir = strings.TrimSpace(lines[4])
	if err1 != nil || err2 != nil || socketDir == "" {
		return 0, 0, "", false
	}
	return pid, port, socketDir, true
}

// waitReady polls until connString accepts a connection. With
// giveUpIfAbsent it returns false as soon as nobody listens, instead of
// waiting for a server that may never come.
func waitReady(ctx context.Context, connString string, giveUpIfAbsent bool) (bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultWait)
		defer cancel()
	}
	for {
		err := connect(ctx, connString)
		if err == nil {
			return true, nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// 57P03: starting up, in recovery or shutting down. Any other
			// answer (say, no such role) will not improve by waiting.
			if pgErr.Code != "57P03" {
				return false, err
			}
		} else if giveUpIfAbsent {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func connect(ctx context.Context, connString string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// waitSeconds turns ctx's deadline into pg_ctl's -t argument.
func waitSeconds(ctx context.Context) string {
	d := defaultWait
	if deadline, ok := ctx.Deadline(); ok {
		d = time.Until(deadline)
	}
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile())
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	return "\nlast lines of " + s.logFile() + ":\n" + lastLines(b, 20)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}
