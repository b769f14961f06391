package export

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// smallChunks makes entries of a few kilobytes cross many chunks and
// batches.
func smallChunks(t *testing.T) {
	old := chunkSize
	chunkSize = 4096
	t.Cleanup(func() { chunkSize = old })
}

func TestParallelZipEntriesReadBack(t *testing.T) {
	smallChunks(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []byte {
		// Repetitive text, so back-references cross chunk boundaries.
		words := []string{"<c t=\"inlineStr\"><is><t>", "供暖", "物业", "赛罕区", "</t></is></c>", "12345"}
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[rnd.IntN(len(words))])
		}
		return b.Bytes()[:n]
	}
	entries := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte("x")},
		{"exactly one chunk", text(4096)},
		{"many chunks", text(100_000)},
		{"random bytes", func() []byte { b := make([]byte, 30_000); _, _ = rand.NewChaCha8([32]byte{7}).Read(b); return b }()},
		{"after the big ones", text(10)},
	}
	var buf bytes.Buffer
	z := newParallelZip(&buf)
	for _, e := range entries {
		w, err := z.Create(e.name)
		require.NoError(t, err)
		// Written in uneven pieces, as io.Copy and excelize do.
		for data := e.data; len(data) > 0; {
			n := min(len(data), 1+rnd.IntN(9000))
			_, err := w.Write(data[:n])
			require.NoError(t, err)
			data = data[n:]
		}
	}
	require.NoError(t, z.Close())

	r, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	require.Len(t, r.File, len(entries))
	for i, f := range r.File {
		assert.Equal(t, entries[i].name, f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(rc) // checks the CRC at the end
		require.NoError(t, err, f.Name)
		require.NoError(t, rc.Close())
		assert.Equal(t, len(entries[i].data), len(got), f.Name)
		assert.True(t, bytes.Equal(entries[i].data, got), f.Name)
		assert.Equal(t, uint64(len(got)), f.UncompressedSize64, f.Name)
	}
}

func TestWorkbookSavedInParallelChunksOpensInExcelize(t *testing.T) {
	smallChunks(t)
	var buf bytes.Buffer
	x, err := newXLSX(&buf)
	require.NoError(t, err)
	require.NoError(t, x.Header([]string{"工单编号", "诉求内容"}))
	const rows = 3000
	for i := range rows {
		require.NoError(t, x.Row([]string{fmt.Sprintf("HH%06d", i), strings.Repeat("暖气不热", i%7) + " <&> "}))
	}
	require.NoError(t, x.Close())
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	got, err := f.GetRows("工单")
	require.NoError(t, err)
	require.Len(t, got, rows+1)
	for i := range rows {
		assert.Equal(t, []string{fmt.Sprintf("HH%06d", i), strings.Repeat("暖气不热", i%7) + " <&> "}, got[i+1])
	}
}

func TestPipeStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("disk full")
	rows := func(n int) func(context.Context, func([]string) error) error {
		return func(ctx context.Context, emit func([]string) error) error {
			for i := range n {
				if err := emit([]string{fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	tests := []struct {
		name    string
		read    func(context.Context, func([]string) error) error
		failAt  int // write fails at this row (1-based), 0 never
		want    int64
		wantErr error
	}{
		{"all rows", rows(1000), 0, 1000, nil},
		{"no rows", rows(0), 0, 0, nil},
		{"reader fails after some rows", func(ctx context.Context, emit func([]string) error) error {
			if err := rows(300)(ctx, emit); err != nil {
				return err
			}
			return boom
		}, 0, 256, boom},
		{"writer fails: the reader of a long stream stops", rows(1_000_000), 700, 699, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var progress []int64
			n, err := pipe(context.Background(), tt.read, func(row []string) error {
				if len(got)+1 == tt.failAt {
					return boom
				}
				got = append(got, row[0])
				return nil
			}, func(n int64) { progress = append(progress, n) })
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, n)
			require.Len(t, got, int(tt.want))
			for i, v := range got {
				require.Equal(t, fmt.Sprint(i), v, "rows keep their order")
			}
		})
	}
}
