package outbox_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/store"
)

// The helper process: the test binary run again with helperEnv set to a
// database URL is a node that delivers the outbox in batches of
// helperBatch and, having written the notices of row HOTLINE_OUTBOX_STALL
// (mid-batch, its transaction still open), says "stalled" and waits to be
// killed.
const (
	helperEnv   = "HOTLINE_OUTBOX_HELPER"
	stallEnv    = "HOTLINE_OUTBOX_STALL"
	helperBatch = 25
)

// everyClerk resolves role:clerk to every active clerk, wherever the ticket.
var everyClerk = outbox.Notices{RoleScope: func(string) (identity.ScopeKind, bool) { return identity.ScopeAll, true }}

func helper() int {
	ctx := context.Background()
	stall, err := strconv.ParseInt(os.Getenv(stallEnv), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	pool, err := store.Open(ctx, os.Getenv(helperEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := &outbox.Dispatcher{Pool: pool, Batch: helperBatch, Log: log, Handlers: map[string]outbox.Handler{
		"notice": outbox.HandlerFunc(func(ctx context.Context, tx pgx.Tx, m outbox.Message) error {
			if err := everyClerk.Handle(ctx, tx, m); err != nil {
				return err
			}
			if m.ID == stall {
				fmt.Println("stalled")
				select {} // until SIGKILL
			}
			return nil
		})}}
	d.Run(ctx)
	return 0
}

// TestANoticeLandsOnceAfterTheNodeIsKilledMidDelivery kills a delivering
// node with SIGKILL while a batch's notices are written but not committed,
// then lets a second dispatcher finish: every notice is in its recipient's
// store exactly once, none lost and none twice.
func TestANoticeLandsOnceAfterTheNodeIsKilledMidDelivery(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105001", "")
	const rows = 300
	ids := make([]int64, rows)
	for i := range ids {
		ids[i] = w.write(t, "notice", tk, map[string]any{"to": "role:clerk", "message": fmt.Sprintf("第 %d 条", i), "level": "info"})
	}
	clerks := []string{"clerk", "clerk.b", "clerk.street", "clerk.xc"}
	// Row 131 is the sixth row of the sixth batch: five batches (125 rows)
	// committed before it.
	stallAt := ids[130]

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+w.pool.Config().ConnString(), stallEnv+"="+strconv.FormatInt(stallAt, 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	said := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stalled" {
				said <- "stalled"
				return
			}
		}
		said <- "exited"
	}()
	select {
	case s := <-said:
		require.Equal(t, "stalled", s)
	case <-time.After(time.Minute):
		t.Fatal("the helper did not reach the row")
	}
	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, w.pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	assert.Equal(t, 125, count(`SELECT count(*) FROM outbox WHERE processed_at IS NOT NULL`), "five batches committed")
	assert.Equal(t, 125*len(clerks), count(`SELECT count(*) FROM notices`), "the open batch's notices are not visible")

	require.NoError(t, syscall.Kill(cmd.Process.Pid, syscall.SIGKILL))
	killed = true
	err = cmd.Wait()
	require.Error(t, err, "the helper died of the signal")
	var before []int64
	rows0, err := w.pool.Query(ctx, `SELECT id FROM outbox WHERE processed_at IS NOT NULL ORDER BY id`)
	require.NoError(t, err)
	before, err = pgx.CollectRows(rows0, pgx.RowTo[int64])
	require.NoError(t, err)
	assert.Equal(t, ids[:125], before)

	// A second node finishes. The dead node's transaction is rolled back
	// once PostgreSQL sees its connection gone; until then its rows are
	// locked and skipped.
	d := &outbox.Dispatcher{Pool: w.pool, Batch: helperBatch, Handlers: map[string]outbox.Handler{"notice": everyClerk}}
	deadline := time.Now().Add(30 * time.Second)
	for count(`SELECT count(*) FROM outbox WHERE processed_at IS NULL`) > 0 {
		require.True(t, time.Now().Before(deadline), "the second dispatcher did not finish")
		_, err := d.Deliver(ctx)
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, rows*len(clerks), count(`SELECT count(*) FROM notices`))
	assert.Equal(t, 0, count(`SELECT count(*) FROM (SELECT 1 FROM notices GROUP BY user_id, outbox_id HAVING count(*) <> 1) x`))
	for _, c := range clerks {
		assert.Equal(t, rows, count(`SELECT count(DISTINCT outbox_id) FROM notices WHERE user_id = $1`, w.users[c]), c)
	}
	assert.Equal(t, 0, count(`SELECT count(*) FROM outbox WHERE attempts > 0 OR dead_at IS NOT NULL`), "a killed node's delivery is not a failed attempt")
}
