package store_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/store"
)

func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A real failed connection: nobody listens on this socket.
	_, connectErr := pgx.Connect(ctx, "host="+filepath.Join(t.TempDir(), "nobody")+" user=x dbname=x sslmode=disable")
	require.Error(t, connectErr)
	// A real query error from a live server.
	pool := pgtest.Pool(t)
	_, syntaxErr := pool.Exec(ctx, "selec 1")
	require.Error(t, syntaxErr)
	_, uniqueErr := pool.Exec(ctx, "create temp table u (n int primary key); insert into u values (1), (1)")
	require.Error(t, uniqueErr)

	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no server listening", fmt.Errorf("reading session: %w", connectErr), true},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"server starting", fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection closed under a query", fmt.Errorf("loading: %w", pgconn.ErrConnClosed), true},
		{"connection cut mid-answer", fmt.Errorf("loading: %w", io.ErrUnexpectedEOF), true},
		{"a syntax error", syntaxErr, false},
		{"a unique violation", uniqueErr, false},
		{"no rows", pgx.ErrNoRows, false},
		{"cancelled by the client", context.Canceled, false},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, store.Unavailable(tt.err), "%v", tt.err)
		})
	}
}
