// Package sipauth keeps the SIP digest credentials agents' phones
// register with: telephony's, not the ACD's, which only distributes work.
// A credential belongs to an extension (the phone's user name); the
// password itself is never kept, only HA1 = md5(extension:realm:password),
// which is all the registrar needs to check a digest response.
package sipauth

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/gql"
)

// Realm is the SIP digest realm agents' phones authenticate in.
const Realm = "hotline"

// HA1 is the digest credential of an extension: md5(ext:realm:password).
func HA1(extension, password string) string {
	sum := md5.Sum([]byte(extension + ":" + Realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// Set gives extension the password, in tx.
func Set(ctx context.Context, tx pgx.Tx, extension, password string) error {
	_, err := tx.Exec(ctx, `INSERT INTO sip_credentials (extension, ha1) VALUES ($1, $2)
		ON CONFLICT (extension) DO UPDATE SET ha1 = EXCLUDED.ha1, updated_at = now()`, extension, HA1(extension, password))
	if err != nil {
		return fmt.Errorf("setting the SIP password of extension %s: %w", extension, err)
	}
	return nil
}

// Change follows an agent's change of extension, from previous (nil: a
// new agent) to extension, with password (empty: unchanged), in tx. The
// credential is made from the extension, so a new agent and a new
// extension need the password; the old extension's credential goes.
func Change(ctx context.Context, tx pgx.Tx, previous *string, extension, password string) error {
	if previous == nil && password == "" {
		return gql.FieldError("sipPassword", "新座席须设置话机密码")
	}
	moved := previous != nil && *previous != extension
	if moved && password == "" {
		return gql.FieldError("sipPassword", "更换分机须重新设置话机密码")
	}
	if moved {
		if _, err := tx.Exec(ctx, `DELETE FROM sip_credentials WHERE extension = $1`, *previous); err != nil {
			return fmt.Errorf("removing the SIP password of extension %s: %w", *previous, err)
		}
	}
	if password == "" {
		return nil
	}
	return Set(ctx, tx, extension, password)
}

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Lookup returns the HA1 of extension, and false when it has none.
func Lookup(ctx context.Context, q Querier, extension string) (string, bool, error) {
	var ha1 string
	err := q.QueryRow(ctx, `SELECT ha1 FROM sip_credentials WHERE extension = $1`, extension).Scan(&ha1)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the credential of extension %s: %w", extension, err)
	}
	return ha1, true, nil
}
