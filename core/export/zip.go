package export

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// chunkSize is how much of an entry one goroutine compresses at a time.
var chunkSize = 1 << 20

// window is deflate's back-reference distance: each chunk is compressed
// with the end of the one before it as its dictionary, so cutting the
// stream into chunks costs almost nothing in size.
const window = 32 << 10

// parallelZip is the ZIP writer excelize saves a workbook through. excelize
// compresses a streamed sheet only when the file is closed, after every row
// is written; at a million rows that took ten seconds on one core while the
// other idled. Here each entry is cut into chunks compressed on every core
// and joined into one deflate stream (a chunk ends on a byte boundary with
// a sync flush, which any inflater reads straight through), the technique
// of pigz and pgzip.
type parallelZip struct {
	zw   *zip.Writer
	open *deflater
}

func newParallelZip(w io.Writer) *parallelZip { return &parallelZip{zw: zip.NewWriter(w)} }

func (z *parallelZip) Create(name string) (io.Writer, error) {
	if err := z.finish(); err != nil {
		return nil, err
	}
	// The sizes and checksum are known only at the end, so they go in a
	// data descriptor after the data (flag bit 3).
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Flags: 0x8, CreatorVersion: 20, ReaderVersion: 20, Modified: time.Now()}
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return nil, err
	}
	z.open = &deflater{fh: fh, out: w}
	return z.open, nil
}

func (z *parallelZip) AddFS(fsys fs.FS) error {
	if err := z.finish(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

func (z *parallelZip) Close() error {
	if err := z.finish(); err != nil {
		return err
	}
	return z.zw.Close()
}

func (z *parallelZip) finish() error {
	if z.open == nil {
		return nil
	}
	d := z.open
	z.open = nil
	return d.close()
}

// deflater compresses one entry, a batch of chunks at a time.
type deflater struct {
	fh      *zip.FileHeader
	out     io.Writer
	pending []byte // input not yet compressed
	dict    []byte // the last window of input compressed
	crc     uint32
	in, n   uint64
	err     error
}

func (d *deflater) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	d.pending = append(d.pending, p...)
	batch := chunkSize * runtime.GOMAXPROCS(0)
	if len(d.pending) >= batch {
		d.err = d.compress(d.pending[:batch], false)
		d.pending = append(d.pending[:0], d.pending[batch:]...)
	}
	return len(p), d.err
}

// compress deflates data in parallel chunks and writes them in order; the
// last chunk of an entry ends the stream.
func (d *deflater) compress(data []byte, last bool) error {
	var chunks [][]byte
	for len(data) > chunkSize {
		chunks = append(chunks, data[:chunkSize])
		data = data[chunkSize:]
	}
	chunks = append(chunks, data)
	outs := make([]bytes.Buffer, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		dict := d.dict
		if i > 0 {
			dict = chunks[i-1][max(0, len(chunks[i-1])-window):]
		}
		final := last && i == len(chunks)-1
		wg.Go(func() {
			fw, err := flate.NewWriterDict(&outs[i], flate.BestSpeed, dict)
			if err == nil {
				_, err = fw.Write(c)
			}
			if err == nil && final {
				err = fw.Close()
			} else if err == nil {
				err = fw.Flush()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("compressing %s: %w", d.fh.Name, err)
	}
	for i, c := range chunks {
		d.crc = crc32.Update(d.crc, crc32.IEEETable, c)
		d.in += uint64(len(c))
		m, err := d.out.Write(outs[i].Bytes())
		d.n += uint64(m)
		if err != nil {
			return err
		}
	}
	lastChunk := chunks[len(chunks)-1]
	d.dict = append(d.dict[:0], lastChunk[max(0, len(lastChunk)-window):]...)
	return nil
}

func (d *deflater) close() error {
	if d.err != nil {
		return d.err
	}
	if err := d.compress(d.pending, true); err != nil {
		return err
	}
	d.pending = nil
	// archive/zip writes the data descriptor and the central directory
	// from this header when the next entry starts or the archive closes;
	// below 4 GiB it reads the 32-bit sizes.
	d.fh.CRC32 = d.crc
	d.fh.CompressedSize64, d.fh.UncompressedSize64 = d.n, d.in
	d.fh.CompressedSize = uint32(min(d.n, math.MaxUint32))    //nolint:staticcheck // read by archive/zip
	d.fh.UncompressedSize = uint32(min(d.in, math.MaxUint32)) //nolint:staticcheck // read by archive/zip
	return nil
}
