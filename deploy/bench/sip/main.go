// Command sip is the telephony benchmark: against a running hotline (see
// run.sh) it makes agents whose phones a sipp answers and has a second
// sipp place calls that hear a prompt, press a key, queue and
// are answered, at a given rate for a given time. It reports the call rate
// achieved, calls held at once, failures, the key-press response and the
// hotline process's CPU and memory.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/telephony/sipauth"
)

func main() {
	sipAddr := flag.String("sip", "127.0.0.1:5080", "hotline's SIP address")
	dataDir := flag.String("data", "", "hotline's data folder (its private PostgreSQL is reached through the socket there)")
	pid := flag.Int("pid", 0, "hotline's process id, for CPU and memory")
	agents := flag.Int("agents", 800, "agents answering")
	cps := flag.Float64("cps", 80, "calls placed per second")
	duration := flag.Duration("duration", 10*time.Minute, "how long calls are placed")
	talk := flag.Duration("talk", 6500*time.Millisecond, "how long a caller stays after pressing the key (queue and talk)")
	out := flag.String("out", "", "folder for sipp's files (default: a temporary one)")
	flag.Parse()
	if *dataDir == "" || *pid == 0 {
		log.Fatal("give -data and -pid of the running hotline (run.sh does)")
	}
	if *out == "" {
		d, err := os.MkdirTemp("", "sipbench")
		if err != nil {
			log.Fatal(err)
		}
		*out = d
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, fmt.Sprintf("host=%s port=5432 user=hotline dbname=hotline", filepath.Join(*dataDir, "pg")))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	root, err := filepath.Abs(".")
	if err != nil {
		log.Fatal(err)
	}

	log.Printf("making %d agents", *agents)
	// Ports the system leaves free, so that a run beside others (make
	// test's) takes none of theirs: the phones' SIP and media, the
	// callers' SIP and media.
	ports := freePorts(4)
	phonesAt := "127.0.0.1:" + ports[0]
	if err := makeAgents(ctx, pool, *agents, phonesAt); err != nil {
		log.Fatal(err)
	}

	phonesCtx, stopPhones := context.WithCancel(ctx)
	defer stopPhones()
	phones := sipp(phonesCtx, *out, "phones", "-sf", filepath.Join(root, "deploy/bench/sip/agent.xml"), "-p", ports[0],
		"-l", "5000", "-mp", ports[1], "-s", "agent", *sipAddr)
	if err := phones.Start(); err != nil {
		log.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)

	calls := int(*cps * duration.Seconds())
	log.Printf("placing %d calls at %.0f/s for %s", calls, *cps, *duration)
	start := time.Now()
	samples := &sampler{pid: *pid}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go samples.run(sampleCtx, pool)
	callers := sipp(ctx, *out, "callers", "-sf", filepath.Join(root, "deploy/bench/sip/caller.xml"), "-s", "99999", "-p", ports[2],
		"-r", fmt.Sprint(*cps), "-m", strconv.Itoa(calls), "-l", "5000", "-d", strconv.Itoa(int(talk.Milliseconds())),
		"-rtp_echo", "-mp", ports[3], "-max_socket", "60000", *sipAddr)
	callerErr := callers.Run()
	elapsed := time.Since(start)
	time.Sleep(3 * time.Second) // the last calls' records
	stopSampling()
	stopPhones()
	_ = phones.Wait()

	ok, failed := sippCounts(filepath.Join(*out, "callers.log"))
	// The last calls end a call's length after the last is placed.
	placing := elapsed - *talk - time.Second
	fmt.Printf("\n%d calls placed in %s (%.1f/s); sipp: %d successful, %d failed", ok+failed, placing.Round(time.Second), float64(ok+failed)/placing.Seconds(), ok, failed)
	if callerErr != nil {
		fmt.Printf(" (sipp: %v)", callerErr)
	}
	fmt.Println()
	if err := report(ctx, pool, start); err != nil {
		log.Fatal(err)
	}
	samples.report()
	fmt.Printf("sipp logs: %s\n", *out)
	if callerErr != nil || failed > 0 || ok == 0 {
		// After the report, so a failed run still says what it saw, and
		// make test's short run fails.
		os.Exit(1)
	}
}

// makeAgents makes n agent users (not able to log in: their password is
// not a hash) with extensions 70001…, signed in and idle, whose phones are
// registered at phones. Setup only: it writes the rows directly (sipp
// cannot take digest usernames from an injection file, and registering is
// not what is measured).
func makeAgents(ctx context.Context, pool *pgxpool.Pool, n int, phones string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var unit int64
		if err := tx.QueryRow(ctx, `SELECT id FROM units WHERE code = '12345'`).Scan(&unit); err != nil {
			return fmt.Errorf("the demo organisation is needed (serve --demo): %w", err)
		}
		for i := 1; i <= n; i++ {
			ext := strconv.Itoa(70000 + i)
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO users (username, display_name, unit_id, password_hash) VALUES ($1, $2, $3, '!')
				ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id`,
				"bench"+ext, "压测座席 "+ext, unit).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO agents (user_id, extension, skills, languages) VALUES ($1, $2, '{"hotline": 5}', '{zh}')
				ON CONFLICT (user_id) DO NOTHING`, id, ext); err != nil {
				return err
			}
			if err := sipauth.Set(ctx, tx, ext, "bench-"+ext); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO agent_status (user_id, state, since) VALUES ($1, 'idle', now())
				ON CONFLICT (user_id) DO UPDATE SET state = 'idle', task = '', since = now()`, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO sip_bindings (extension, contact, expires_at, node) VALUES ($1, $2, now() + interval '2 hours', 'bench')
				ON CONFLICT (extension, contact) DO UPDATE SET expires_at = EXCLUDED.expires_at`, ext, "sip:"+ext+"@"+phones); err != nil {
				return err
			}
		}
		return nil
	})
}

// freePorts returns n ports, each the first of four UDP ports free now
// (sipp takes its media port and the three after it): the system picks
// one and the next three are tried, so a run beside others (make test's)
// takes none of theirs. Every port tried is held until the end, so the
// blocks do not overlap.
func freePorts(n int) []string {
	var out []string
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	hold := func(port int) (int, bool) {
		c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return 0, false
		}
		held = append(held, c)
		return c.LocalAddr().(*net.UDPAddr).Port, true
	}
	for len(out) < n {
		p, ok := hold(0)
		if !ok {
			log.Fatal("no UDP port free")
		}
		for i := 1; i < 4 && ok; i++ {
			_, ok = hold(p + i)
		}
		if ok {
			out = append(out, strconv.Itoa(p))
		}
	}
	return out
}

// sipp runs sipp with its screen and errors written to out/name.log.
func sipp(ctx context.Context, out, name string, args ...string) *exec.Cmd {
	args = append(args, "-i", "127.0.0.1", "-nostdin", "-trace_err", "-error_file", filepath.Join(out, name+"-errors.log"))
	cmd := exec.CommandContext(ctx, "sipp", args...)
	f, err := os.Create(filepath.Join(out, name+".log"))
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = out
	return cmd
}

var countLine = regexp.MustCompile(`^\s*(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)`)

// sippCounts reads the cumulative successful and failed calls off sipp's
// last screen.
func sippCounts(path string) (ok, failed int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := countLine.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[2])
			if m[1] == "Successful" {
				ok = n
			} else {
				failed = n
			}
		}
	}
	return ok, failed
}

// report prints what the call records say of the run.
func report(ctx context.Context, pool *pgxpool.Pool, since time.Time) error {
	var total, connected, queued, abandoned, open int
	if err := pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = c.id AND e.kind = 'connected')),
		count(*) FILTER (WHERE outcome = 'queue'),
		count(*) FILTER (WHERE EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = c.id AND e.kind = 'abandoned')),
		count(*) FILTER (WHERE ended_at IS NULL)
		FROM calls c WHERE started_at >= $1`, since).Scan(&total, &connected, &queued, &abandoned, &open); err != nil {
		return err
	}
	fmt.Printf("hotline records %d calls: %d left the menu for the queue, %d reached an agent, %d left the queue unanswered, %d still open\n",
		total, queued, connected, abandoned, open)
	var p50, p99, max float64
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*), COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY r), 0),
		COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY r), 0), COALESCE(max(r), 0)
		FROM call_events e JOIN calls c ON c.id = e.call_id, jsonb_array_elements_text(e.data->'response_ms') AS x(v), LATERAL (SELECT x.v::float AS r) y
		WHERE e.kind = 'ivr' AND c.started_at >= $1`, since).Scan(&n, &p50, &p99, &max); err != nil {
		return err
	}
	fmt.Printf("key press to next prompt (%d presses): p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", n, p50, p99, max)
	for _, span := range []struct{ what, from, to string }{
		{"queued to the first agent's phone ringing (the distributor)", "queued", "ringing"},
		{"ringing to connected (the agent's phone answering)", "ringing", "connected"},
		{"queued to connected with an agent", "queued", "connected"},
	} {
		var p50, p99 float64
		if err := pool.QueryRow(ctx, `SELECT COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY w), 0), COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY w), 0)
			FROM (SELECT extract(epoch FROM (SELECT min(at) FROM call_events k WHERE k.call_id = q.call_id AND k.kind = $2 AND k.at >= q.at) - q.at) * 1000 AS w
			      FROM call_events q JOIN calls c ON c.id = q.call_id WHERE q.kind = $3 AND c.started_at >= $1
			      AND q.seq = (SELECT max(seq) FROM call_events x WHERE x.call_id = q.call_id AND x.kind = $3 AND x.seq < COALESCE((SELECT min(seq) FROM call_events y WHERE y.call_id = q.call_id AND y.kind = $2), 1 << 30))) t
			WHERE w IS NOT NULL`, since, span.to, span.from).Scan(&p50, &p99); err != nil {
			return err
		}
		fmt.Printf("%s: p50 %.0f ms, p99 %.0f ms\n", span.what, p50, p99)
	}
	return nil
}

// sampler reads the process's CPU time and resident memory, and the live
// calls, every second.
type sampler struct {
	pid     int
	mu      sync.Mutex
	cpu     []float64 // cores used in each second
	rssMax  int64
	liveMax int
}

func (s *sampler) run(ctx context.Context, pool *pgxpool.Pool) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastCPU, lastAt := s.cpuTime(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cpu, now := s.cpuTime(), time.Now()
		var live int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE ended_at IS NULL`).Scan(&live)
		s.mu.Lock()
		s.cpu = append(s.cpu, (cpu-lastCPU)/now.Sub(lastAt).Seconds())
		s.rssMax = max(s.rssMax, s.rss())
		s.liveMax = max(s.liveMax, live)
		s.mu.Unlock()
		lastCPU, lastAt = cpu, now
	}
}

// cpuTime is the process's user and system time in seconds.
func (s *sampler) cpuTime() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func (s *sampler) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s *sampler) report() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cpu) == 0 {
		return
	}
	var sum, peak float64
	for _, c := range s.cpu {
		sum += c
		peak = max(peak, c)
	}
	fmt.Printf("hotline process: CPU mean %.2f cores, peak %.2f (of 2 on this machine); RSS peak %d MB; calls open at once: peak %d\n",
		sum/float64(len(s.cpu)), peak, s.rssMax>>20, s.liveMax)
}
