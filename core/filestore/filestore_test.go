package filestore_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/filestore"
)

func read(t *testing.T, s filestore.Store, key string) string {
	t.Helper()
	f, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

func TestADirStoreKeepsFilesByKey(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, b := filestore.Dir{Root: root}, filestore.Dir{Root: root} // two nodes on one shared folder

	require.NoError(t, a.Put(ctx, "exports/1", strings.NewReader("first")))
	assert.Equal(t, "first", read(t, b, "exports/1"), "what one node stores the other reads")
	require.NoError(t, a.Put(ctx, "exports/1", strings.NewReader("second")))
	assert.Equal(t, "second", read(t, b, "exports/1"), "a Put replaces")

	require.NoError(t, b.Link(ctx, "exports/2", "exports/1"))
	assert.Equal(t, "second", read(t, a, "exports/2"))

	local := filepath.Join(t.TempDir(), "call.wav")
	require.NoError(t, os.WriteFile(local, []byte("RIFF"), 0o600))
	require.NoError(t, a.Move(ctx, "recordings/2026/12/02/call-1.wav", local))
	assert.NoFileExists(t, local, "Move takes the file")
	assert.Equal(t, "RIFF", read(t, b, "recordings/2026/12/02/call-1.wav"))

	has, err := b.Has(ctx, "exports/1")
	require.NoError(t, err)
	assert.True(t, has)
	require.NoError(t, b.Delete(ctx, "exports/1"))
	require.NoError(t, b.Delete(ctx, "exports/1"), "deleting what is gone is no error")
	has, err = a.Has(ctx, "exports/1")
	require.NoError(t, err)
	assert.False(t, has)
	_, err = a.Open(ctx, "exports/1")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, "second", read(t, a, "exports/2"), "a link outlives the key it was made from")
}

func TestADirStoreRefusesKeysOutsideItsFolder(t *testing.T) {
	ctx := context.Background()
	s := filestore.Dir{Root: filepath.Join(t.TempDir(), "files")}
	for _, key := range []string{"../escape", "/etc/passwd", "a/../../b", "", ".", "a//b", `a\..\b/../..`} {
		t.Run(key, func(t *testing.T) {
			assert.Error(t, s.Put(ctx, key, strings.NewReader("x")))
			_, err := s.Open(ctx, key)
			assert.Error(t, err)
			assert.Error(t, s.Delete(ctx, key))
		})
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Root))
	assert.Empty(t, entries, "nothing was written anywhere")
}

func TestWriteStoresAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := filestore.Dir{Root: t.TempDir()}
	n, err := filestore.Write(ctx, s, "exports/7", func(w io.Writer) error {
		_, err := io.WriteString(w, "number,state\n")
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, int64(len("number,state\n")), n)
	assert.Equal(t, "number,state\n", read(t, s, "exports/7"))

	failed := errors.New("the query failed half-way")
	_, err = filestore.Write(ctx, s, "exports/8", func(w io.Writer) error {
		if _, err := io.WriteString(w, "half"); err != nil {
			return err
		}
		return failed
	})
	assert.ErrorIs(t, err, failed, "the writer's error, not the store's")
	has, err := s.Has(ctx, "exports/8")
	require.NoError(t, err)
	assert.False(t, has, "a failed write stores nothing")
	entries, err := os.ReadDir(filepath.Join(s.Root, "exports"))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	// A store that cannot take the file stops the writer instead of
	// leaving it blocked.
	_, err = filestore.Write(ctx, s, "../out", func(w io.Writer) error {
		_, err := w.Write(make([]byte, 1<<20))
		return err
	})
	assert.Error(t, err)
}

// A node's spool is on its own disk and the store on a shared one: Move
// copies across file systems where it cannot rename.
func TestMoveCopiesAcrossFileSystems(t *testing.T) {
	spool, err := os.MkdirTemp("/dev/shm", "filestore-")
	if err != nil {
		t.Skip("no /dev/shm here:", err)
	}
	defer os.RemoveAll(spool)
	s := filestore.Dir{Root: t.TempDir()}
	if sameDevice(t, spool, s.Root) {
		t.Skip("/dev/shm is on the same file system as the test's folder")
	}
	local := filepath.Join(spool, "vm-1.wav")
	require.NoError(t, os.WriteFile(local, []byte("RIFF....WAVE"), 0o600))
	require.NoError(t, s.Move(context.Background(), "recordings/2026/12/02/vm-1.wav", local))
	assert.NoFileExists(t, local)
	assert.Equal(t, "RIFF....WAVE", read(t, s, "recordings/2026/12/02/vm-1.wav"))
}

func sameDevice(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	require.NoError(t, err)
	sb, err := os.Stat(b)
	require.NoError(t, err)
	return sa.Sys().(*syscall.Stat_t).Dev == sb.Sys().(*syscall.Stat_t).Dev
}
