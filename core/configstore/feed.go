package configstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// listen LISTENs on its own connection (not one of the pool's, which a
// long wait would hold from requests) and calls changed for each
// notification until ctx ends or the connection fails.
func (s *Store) listen(ctx context.Context, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	// A change may have been recorded while no one listened.
	changed()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}
