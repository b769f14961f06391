package configstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// Manager owns the running configuration: it loads the configuration
// folders, lints them (tests included), records versions and swaps the
// running set — or, on any problem, keeps what runs and reports why.
type Manager struct {
	// Root is the folder holding flows/, forms/ and scripts/.
	Root string
	// Dirs are the configuration folders below Root.
	Dirs    []string
	Store   *Store
	Runtime *registry.Runtime
	Log     *slog.Logger

	mu sync.Mutex // one load or publish at a time
}

// DefaultDirs are the configuration folders of the layout.
var DefaultDirs = []string{"flows", "forms", "scripts"}

func (m *Manager) paths() []string {
	out := make([]string, 0, len(m.Dirs))
	for _, d := range m.Dirs {
		p := filepath.Join(m.Root, d)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Result reports a load or publish.
type Result struct {
	// Problems, when not empty, mean nothing was applied.
	Problems diag.List
	Changes  []Change
}

// Reload loads the folders again. With problems, the running configuration
// stays as it is and the problems are returned; otherwise the new set is
// recorded and runs.
func (m *Manager) Reload(ctx context.Context, actor audit.Actor) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(ctx, actor, nil, "reload")
}

func (m *Manager) apply(ctx context.Context, actor audit.Actor, overrides map[string]string, note string) (Result, error) {
	set, problems := registry.Load(ctx, m.paths(), registry.LoadOptions{RunTests: true, Overrides: overrides})
	if !problems.Empty() {
		m.Log.Warn("configuration has problems; keeping the running version", "problems", len(problems), "first", problems[0].String())
		return Result{Problems: problems}, nil
	}
	changes, err := m.Store.Record(ctx, set, actor, note)
	if err != nil {
		return Result{}, err
	}
	m.Runtime.Swap(set)
	for _, c := range changes {
		m.Log.Info("configuration changed", "kind", c.Kind, "name", c.Name, "version", c.Version, "status", c.Status)
	}
	return Result{Changes: changes}, nil
}

// Publish replaces (or adds) one document's text, lints the whole
// configuration with it, and only when clean records the version, runs it
// and puts the file in place. The file is written to a temporary name
// first, so a full disk fails the publish before anything is recorded.
func (m *Manager) Publish(ctx context.Context, actor audit.Actor, kind, name, source, note string) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	problem := func(format string, args ...any) Result {
		return Result{Problems: diag.List{{Pos: diag.Pos{File: kind + "/" + name, Line: 1, Col: 1}, Message: fmt.Sprintf(format, args...)}}}
	}
	k, ok := registry.Default().Lookup(kind)
	if !ok {
		return problem("unknown kind %q%s", kind, registry.Suggest(kind, registry.Default().Names())), nil
	}
	if !registry.ValidName(name) {
		return problem("name %q: use letters, digits, '_', '-', '.' and '/' between them", name), nil
	}
	if k.FileExt == "" {
		var head struct{ Kind, Name string }
		if err := yaml.Unmarshal([]byte(source), &head); err == nil && (head.Kind != kind || head.Name != name) {
			return problem("the text declares kind %q and name %q, but %s/%s is being published", head.Kind, head.Name, kind, name), nil
		}
	}
	path, content, err := m.fileWith(k, name, source)
	if err != nil {
		return Result{}, err
	}
	tmp := path + ".publishing"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Result{}, fmt.Errorf("publishing %s/%s: %w", kind, name, err)
	}
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return Result{}, fmt.Errorf("publishing %s/%s: %w", kind, name, err)
	}
	res, err := m.apply(ctx, actor, map[string]string{path: content}, note)
	if err != nil || !res.Problems.Empty() {
		_ = os.Remove(tmp)
		return res, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return Result{}, fmt.Errorf("publishing %s/%s: recorded, but the file could not be put in place: %w", kind, name, err)
	}
	return res, nil
}

// ErrChangedOnDisk means a file was edited since it was loaded; publishing
// over it would lose that edit.
var ErrChangedOnDisk = errors.New("changed on disk since it was loaded: reload first")

// fileWith returns the file that holds the document and that file's text
// with the document replaced by source; a new document gets a file of its
// own in its kind's folder.
func (m *Manager) fileWith(k registry.Kind, name, source string) (string, string, error) {
	if cur := m.Runtime.Current(); cur != nil {
		if d, ok := cur.Get(k.Name, name); ok {
			data, err := os.ReadFile(d.Path)
			if err != nil {
				return "", "", fmt.Errorf("reading %s: %w", d.Path, err)
			}
			text := string(data)
			if !strings.Contains(text, d.Source) {
				return "", "", fmt.Errorf("%s: %w", d.Path, ErrChangedOnDisk)
			}
			if !strings.HasSuffix(source, "\n") {
				source += "\n"
			}
			return d.Path, strings.Replace(text, d.Source, source, 1), nil
		}
	}
	dir := k.Dir
	if dir == "" {
		dir = "flows"
	}
	ext := ".yaml"
	if k.FileExt != "" {
		ext = k.FileExt
	}
	base := filepath.Join(m.Root, dir)
	path := filepath.Join(base, filepath.FromSlash(name)+ext)
	// ValidName already keeps names inside the folder; checked again here
	// because this is where a name becomes a path.
	if rel, err := filepath.Rel(base, path); err != nil || strings.HasPrefix(rel, "..") {
		return "", "", fmt.Errorf("publishing %s/%s: the name leads outside %s", k.Name, name, base)
	}
	return path, source, nil
}
