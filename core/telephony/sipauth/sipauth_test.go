package sipauth_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/telephony/sipauth"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestACredentialFollowsItsExtension(t *testing.T) {
	w := gentest.New(t, 0)
	ctx := context.Background()
	ext := func(s string) *string { return &s }
	change := func(previous *string, extension, password string) error {
		return pgx.BeginFunc(ctx, w.Pool, func(tx pgx.Tx) error { return sipauth.Change(ctx, tx, previous, extension, password) })
	}
	lookup := func(extension string) (string, bool) {
		ha1, ok, err := sipauth.Lookup(ctx, w.Pool, extension)
		require.NoError(t, err)
		return ha1, ok
	}

	steps := []struct {
		name                string
		previous            *string
		extension, password string
		err                 string
		has                 map[string]string // extension → password it checks ("" : none)
	}{
		{name: "a new agent needs a password", extension: "8001", err: "新座席须设置话机密码", has: map[string]string{"8001": ""}},
		{name: "a new agent", extension: "8001", password: "one", has: map[string]string{"8001": "one"}},
		{name: "the same extension keeps its password", previous: ext("8001"), extension: "8001", has: map[string]string{"8001": "one"}},
		{name: "a new password", previous: ext("8001"), extension: "8001", password: "two", has: map[string]string{"8001": "two"}},
		{name: "a new extension needs the password again", previous: ext("8001"), extension: "8002", err: "更换分机须重新设置话机密码",
			has: map[string]string{"8001": "two", "8002": ""}},
		{name: "a new extension; the old one's credential goes", previous: ext("8001"), extension: "8002", password: "three",
			has: map[string]string{"8001": "", "8002": "three"}},
	}
	for _, st := range steps {
		err := change(st.previous, st.extension, st.password)
		if st.err != "" {
			assert.ErrorContains(t, err, st.err, st.name)
		} else {
			assert.NoError(t, err, st.name)
		}
		for e, password := range st.has {
			ha1, ok := lookup(e)
			if password == "" {
				assert.False(t, ok, "%s: extension %s has no credential", st.name, e)
				continue
			}
			require.True(t, ok, "%s: extension %s", st.name, e)
			assert.Equal(t, sipauth.HA1(e, password), ha1, "%s: extension %s", st.name, e)
		}
	}
	// HA1 is RFC 2617's md5(user:realm:password), which phones compute too.
	assert.Equal(t, "79bd6351ac7f9d401bb41d1945bf1994", sipauth.HA1("8001", "one"))
}
