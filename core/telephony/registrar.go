package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/telephony/sipauth"
)

// Registration bounds: phones ask for an expiry; they get one in range.
const (
	minExpires     = 60
	maxExpires     = 3600
	defaultExpires = 600
	nonceLife      = 5 * time.Minute
)

// registrar accepts REGISTER from agents' phones, with digest
// authentication against the agent's extension and SIP password (kept as
// HA1), and keeps where each phone can be reached in sip_bindings.
// Nonces are signed timestamps, so any node can check any node's nonce.
type registrar struct {
	pool   *pgxpool.Pool
	node   string
	secret []byte
	now    func() time.Time
	log    *slog.Logger
}

func newRegistrar(pool *pgxpool.Pool, node string, log *slog.Logger) (*registrar, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return &registrar{pool: pool, node: node, secret: secret, now: time.Now, log: log}, nil
}

func (r *registrar) nonce() string {
	ts := strconv.FormatInt(r.now().Unix(), 10)
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(ts))
	return ts + "." + hex.EncodeToString(mac.Sum(nil))[:32]
}

// nonceValid reports whether a nonce was made here and is fresh.
func (r *registrar) nonceValid(n string) (valid, stale bool) {
	ts, sig, ok := strings.Cut(n, ".")
	if !ok {
		return false, false
	}
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(ts))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(mac.Sum(nil))[:32]), []byte(sig)) != 1 {
		return false, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false, false
	}
	if r.now().Sub(time.Unix(sec, 0)) > nonceLife {
		return false, true
	}
	return true, false
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// challenge answers 401 with a fresh nonce.
func (r *registrar) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	chal := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, sipauth.Realm, r.nonce())
	if stale {
		chal += ", stale=true"
	}
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal))
	_ = tx.Respond(res)
}

// authenticate checks the request's Authorization for extension; it
// answers the request itself (401, 403) and returns false when the
// request may not proceed.
func (r *registrar) authenticate(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, extension string) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		r.challenge(req, tx, false)
		return false
	}
	scheme, _, _ := strings.Cut(strings.TrimSpace(h.Value()), " ")
	if !strings.EqualFold(scheme, "Digest") {
		// RFC 4475 3.3.7: credentials of a scheme we do not know are
		// answered with a challenge in one we do.
		r.challenge(req, tx, false)
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Authorization", nil))
		return false
	}
	valid, stale := r.nonceValid(cred.Nonce)
	if !valid {
		r.challenge(req, tx, stale)
		return false
	}
	forbid := func(why string) bool {
		r.log.Warn("SIP registration refused", "extension", extension, "user", cred.Username, "source", req.Source(), "why", why)
		registrations.WithLabelValues("refused").Inc()
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return false
	}
	if cred.Username != extension || cred.Realm != sipauth.Realm {
		return forbid("credentials for another user or realm")
	}
	ha1, ok, err := sipauth.Lookup(ctx, r.pool, extension)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Error", nil))
		return false
	}
	if !ok {
		return forbid("no such extension")
	}
	ha2 := md5hex(req.Method.String() + ":" + cred.URI)
	var want string
	if cred.QOP == "" {
		want = md5hex(ha1 + ":" + cred.Nonce + ":" + ha2)
	} else {
		want = md5hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, cred.Nonce, cred.Nc, cred.Cnonce, cred.QOP, ha2))
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cred.Response))) != 1 {
		return forbid("wrong password")
	}
	return true
}

// onRegister handles REGISTER: query, add, refresh or remove bindings.
func (r *registrar) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	to := req.To()
	if to == nil || to.Address.User == "" {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Missing To user", nil))
		return
	}
	ext := to.Address.User
	if !r.authenticate(ctx, req, tx, ext) {
		return
	}
	expires := defaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = n
		}
	}
	contacts := req.GetHeaders("Contact")
	var err error
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		exp := expires
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				exp = n
			}
		}
		if c.Address.Wildcard {
			if exp != 0 {
				_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Wildcard contact needs Expires: 0", nil))
				return
			}
			_, err = r.pool.Exec(ctx, `DELETE FROM sip_bindings WHERE extension = $1`, ext)
			continue
		}
		uri := c.Address.String()
		if exp == 0 {
			_, err = r.pool.Exec(ctx, `DELETE FROM sip_bindings WHERE extension = $1 AND contact = $2`, ext, uri)
			continue
		}
		exp = min(max(exp, minExpires), maxExpires)
		ua := ""
		if h := req.GetHeader("User-Agent"); h != nil {
			ua = h.Value()
		}
		_, err = r.pool.Exec(ctx, `INSERT INTO sip_bindings (extension, contact, expires_at, user_agent, node) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (extension, contact) DO UPDATE SET expires_at = $3, user_agent = $4, node = $5`,
			ext, uri, r.now().Add(time.Duration(exp)*time.Second), ua, r.node)
		if err != nil {
			break
		}
	}
	if err != nil {
		r.log.Warn("keeping a SIP registration", "extension", ext, "err", err)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Error", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	rows, err := r.pool.Query(ctx, `SELECT contact, GREATEST(0, extract(epoch FROM expires_at - now())::int) FROM sip_bindings WHERE extension = $1 AND expires_at > now()`, ext)
	if err == nil {
		for rows.Next() {
			var contact string
			var left int
			if rows.Scan(&contact, &left) == nil {
				res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", contact, left)))
			}
		}
		rows.Close()
	}
	registrations.WithLabelValues("ok").Inc()
	_ = tx.Respond(res)
}

// contact returns where an extension's phone can be reached now.
func (r *registrar) contact(ctx context.Context, ext string) (string, bool, error) {
	var c string
	err := r.pool.QueryRow(ctx, `SELECT contact FROM sip_bindings WHERE extension = $1 AND expires_at > now() ORDER BY expires_at DESC LIMIT 1`, ext).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("finding the phone of extension %s: %w", ext, err)
	}
	return c, true, nil
}
