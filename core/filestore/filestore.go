// Package filestore keeps the platform's files — attachments, call
// recordings, export files, knowledge import uploads — where every node
// reads the same bytes: a folder shared by the nodes (Dir) today, an
// object store later. Files are named by keys, slash-separated paths such
// as "exports/42" chosen by the package that owns them; the database row
// that a file belongs to holds its key, never a node's path, so any node
// answers any download.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Store keeps files by key. A file is stored whole or not at all: a
// reader never sees part of one. Missing keys are errors wrapping
// fs.ErrNotExist.
type Store interface {
	// Put stores what r yields under key, replacing what was there.
	Put(ctx context.Context, key string, r io.Reader) error
	// Move stores the local file at path under key and takes it: the
	// file is no longer at path afterwards (a rename where the store is
	// on the same file system, else a copy).
	Move(ctx context.Context, key, path string) error
	// Link makes the bytes stored under from readable as key too.
	Link(ctx context.Context, key, from string) error
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	Has(ctx context.Context, key string) (bool, error)
	// Delete removes key; a key that is not there is no error.
	Delete(ctx context.Context, key string) error
}

// Write stores under key what fn writes, and returns how many bytes that
// was. Nothing is stored when fn fails.
func Write(ctx context.Context, s Store, key string, fn func(io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	done := make(chan error, 1)
	go func() {
		err := fn(cw)
		pw.CloseWithError(err) // nil: EOF for Put
		done <- err
	}()
	err := s.Put(ctx, key, pr)
	if err != nil {
		// A Put that stopped reading early must not leave fn blocked on
		// the pipe.
		pr.CloseWithError(errPutStopped)
	}
	// fn's own failure is the cause, unless it failed because Put had.
	if ferr := <-done; ferr != nil && !errors.Is(ferr, errPutStopped) {
		return 0, ferr
	}
	if err != nil {
		return 0, err
	}
	return cw.n, nil
}

var errPutStopped = errors.New("the file store stopped reading")

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Dir keeps files in a folder, a key's slashes its subfolders. Nodes
// share one by mounting the same folder (NFS, a cluster file system) at
// Root.
type Dir struct{ Root string }

// path is where key lives; keys come from the code, but one that could
// leave Root is refused all the same.
func (d Dir) path(key string) (string, error) {
	if !fs.ValidPath(key) || key == "." {
		return "", fmt.Errorf("file key %q: not a relative slash-separated path", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put implements Store: the bytes go to a temporary file beside the
// destination, renamed into place once complete.
func (d Dir) Put(_ context.Context, key string, r io.Reader) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".put-*")
	if err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // gone already when renamed
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	return nil
}

// Move implements Store with a rename, or a copy where path is on
// another file system.
func (d Dir) Move(ctx context.Context, key, path string) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	if err := os.Rename(path, dst); err == nil {
		return nil
	} else if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storing file %s: %w", key, err)
	}
	defer f.Close()
	if err := d.Put(ctx, key, f); err != nil {
		return err
	}
	return os.Remove(path)
}

// Link implements Store with a hard link, so files of the same bytes
// share one copy on disk; where the file system has no hard links the
// bytes are copied.
func (d Dir) Link(ctx context.Context, key, from string) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	src, err := d.path(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("linking file %s: %w", key, err)
	}
	err = os.Link(src, dst)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist):
		return fmt.Errorf("linking file %s: %w", key, err)
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying file %s: %w", key, err)
	}
	defer f.Close()
	return d.Put(ctx, key, f)
}

// Open implements Store.
func (d Dir) Open(_ context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Has implements Store.
func (d Dir) Has(_ context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Delete implements Store.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting file %s: %w", key, err)
	}
	return nil
}
