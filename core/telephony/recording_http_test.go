package telephony_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

// A call one may not hear must look exactly like a call that does not
// exist: else the recordings endpoint tells a stranger which call
// numbers are real.
func TestARecordingOneMayNotHearIsAnsweredAsMissing(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	files := filestore.Dir{Root: t.TempDir()}
	require.NoError(t, files.Put(ctx, "recordings/2026/12/02/call-oracle.wav", strings.NewReader("RIFF....WAVE")))
	var id int64
	require.NoError(t, w.Pool.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node, recording, ended_at)
		VALUES ('rec-oracle', 'inbound', '13800000000', '12345', 'node-rec', 'recordings/2026/12/02/call-oracle.wav', now()) RETURNING id`).Scan(&id))
	var missing int64
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) + 1000 FROM calls`).Scan(&missing))

	users := map[string]*identity.Principal{"agent": w.As(t, "agent"), "leader": w.As(t, "leader")}
	require.False(t, users["agent"].Can(telephony.PermRecords), "the agent may not hear others' calls")
	require.True(t, users["leader"].Can(telephony.PermRecords))
	mux := http.NewServeMux()
	mux.Handle("GET /recordings/{id}", telephony.RecordingHandler(w.Pool, files, func(r *http.Request) (*identity.Principal, error) {
		return users[r.Header.Get("X-Test-User")], nil
	}))
	get := func(user string, call int64) (int, string, http.Header) {
		req := httptest.NewRequest(http.MethodGet, "/recordings/"+strconv.FormatInt(call, 10), nil)
		req.Header.Set("X-Test-User", user)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body, err := io.ReadAll(rec.Result().Body)
		require.NoError(t, err)
		return rec.Code, string(body), rec.Result().Header
	}

	forbiddenCode, forbiddenBody, forbiddenHeader := get("agent", id)
	missingCode, missingBody, missingHeader := get("agent", missing)
	assert.Equal(t, http.StatusNotFound, forbiddenCode, "an existing call the agent may not hear")
	assert.Equal(t, http.StatusNotFound, missingCode, "a call that does not exist")
	assert.Equal(t, missingBody, forbiddenBody, "the same answer for both")
	assert.Equal(t, missingHeader, forbiddenHeader)

	code, body, _ := get("leader", id)
	assert.Equal(t, http.StatusOK, code, "the leader hears it")
	assert.Equal(t, "RIFF....WAVE", body)
	code, body, _ = get("leader", missing)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, missingBody, body)
}
