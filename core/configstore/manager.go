package configstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// Manager runs, on one node, the configuration the database says is
// active. PostgreSQL holds the versions and the active set; every node
// follows it (Follow) and a publish on any node is recorded there first.
// Files are how configuration enters and leaves: the folders seed an empty
// database (Start), their edits are published by Reload (SIGHUP, the
// reloadConfig mutation, `serve --watch`), `hotline config push` makes a
// folder the configuration and `hotline config pull` writes it out. A text
// that is merely on a node's disk — an older version, a file nobody edited
// since a publish — never replaces what was published.
type Manager struct {
	// Root is the folder holding flows/, forms/ and scripts/.
	Root string
	// Dirs are the configuration folders below Root.
	Dirs    []string
	Store   *Store
	Runtime *registry.Runtime
	Log     *slog.Logger
	// WriteBack puts each published text into the folder too, so a
	// developer's folder mirrors what runs (serve --watch).
	WriteBack bool

	mu  sync.Mutex // one load, sync or publish at a time
	gen int64      // the generation Runtime runs
	// disk is the folders' text as last applied or found: Reload
	// publishes what changed since.
	disk registry.Texts
}

// DefaultDirs are the configuration folders of the layout.
var DefaultDirs = []string{"flows", "forms", "scripts"}

// Result reports a load or publish.
type Result struct {
	// Problems, when not empty, mean nothing was applied.
	Problems diag.List
	Changes  []Change
}

// Start makes the active set in the database the running one. An empty
// database (a first start) is seeded from the folders, which must lint
// clean, tests included. Problems in the stored set (a newer binary being
// stricter) are returned, and nothing runs.
func (m *Manager) Start(ctx context.Context, actor audit.Actor) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	disk, err := m.readDisk()
	if err != nil {
		return Result{}, err
	}
	texts, gen, err := m.Store.ActiveTexts(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(texts) == 0 {
		res, err := m.record(ctx, actor, disk, gen, "first start: "+m.Root)
		if err == nil && res.Problems.Empty() {
			m.disk = disk
		}
		return res, err
	}
	set, problems := registry.Load(ctx, nil, registry.LoadOptions{Overrides: texts})
	if !problems.Empty() {
		return Result{Problems: problems}, nil
	}
	m.Runtime.Swap(set)
	m.gen = gen
	m.disk = disk
	docs, _ := registry.Scan(disk, nil) // problems surface when they are published
	if edits, err := m.unrecorded(ctx, docs); err != nil {
		return Result{}, err
	} else if len(edits) > 0 {
		m.Log.Warn("configuration files differ from the running configuration with texts never published; they are not applied (hotline config push, or serve --watch, publishes them)",
			"documents", len(edits), "first", edits[0].Kind+"/"+edits[0].Name, "root", m.Root)
	}
	return Result{}, nil
}

// PublishEdits publishes the documents of the folders whose text was never
// recorded: what a developer changed while no server watched (serve
// --watch at start).
func (m *Manager) PublishEdits(ctx context.Context, actor audit.Actor) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	disk, err := m.readDisk()
	if err != nil {
		return Result{}, err
	}
	docs, problems := registry.Scan(disk, nil)
	edits, err := m.unrecorded(ctx, docs)
	if err != nil || len(edits) == 0 {
		return Result{}, err
	}
	if !problems.Empty() {
		return Result{Problems: problems}, nil
	}
	replace := map[registry.Key]*registry.Document{}
	for _, d := range edits {
		replace[registry.Key{Kind: d.Kind, Name: d.Name}] = d
	}
	res, err := m.change(ctx, actor, replace, nil, "edited files: "+m.Root)
	if err == nil && res.Problems.Empty() {
		m.disk = disk
	}
	return res, err
}

// unrecorded returns the documents whose text no version holds.
func (m *Manager) unrecorded(ctx context.Context, docs []*registry.Document) ([]*registry.Document, error) {
	known, err := m.Store.Digests(ctx)
	if err != nil {
		return nil, err
	}
	var out []*registry.Document
	for _, d := range docs {
		if !known[registry.Key{Kind: d.Kind, Name: d.Name}][d.Digest] {
			out = append(out, d)
		}
	}
	return out, nil
}

// Reload publishes what was edited in the folders since they were last
// read (at start or the last reload): documents whose text changed there
// and differs from what runs, and documents gone from the folders, which
// are removed. With problems, the running configuration
// stays as it is and the problems are returned.
func (m *Manager) Reload(ctx context.Context, actor audit.Actor) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	disk, err := m.readDisk()
	if err != nil {
		return Result{}, err
	}
	now, problems := registry.Scan(disk, nil)
	if !problems.Empty() {
		return Result{Problems: problems}, nil
	}
	before, _ := registry.Scan(m.disk, nil)
	if err := m.syncLocked(ctx); err != nil {
		return Result{}, err
	}
	cur := m.Runtime.Current()
	was := map[registry.Key]string{}
	for _, d := range before {
		was[registry.Key{Kind: d.Kind, Name: d.Name}] = d.Digest
	}
	replace := map[registry.Key]*registry.Document{}
	seen := map[registry.Key]bool{}
	for _, d := range now {
		k := registry.Key{Kind: d.Kind, Name: d.Name}
		seen[k] = true
		if was[k] == d.Digest {
			continue // not edited, even if its file was
		}
		if running, ok := cur.Get(d.Kind, d.Name); !ok || running.Digest != d.Digest {
			replace[k] = d
		}
	}
	var remove []registry.Key
	for _, d := range before {
		k := registry.Key{Kind: d.Kind, Name: d.Name}
		if _, running := cur.Get(d.Kind, d.Name); running && !seen[k] {
			remove = append(remove, k)
		}
	}
	res, err := m.change(ctx, actor, replace, remove, "reload: "+m.Root)
	if err == nil && res.Problems.Empty() {
		m.disk = disk
	}
	return res, err
}

// Publish replaces (or adds) one document's text, lints the whole
// configuration with it, and only when clean records the version and runs
// it, here and (through the database) on every node.
func (m *Manager) Publish(ctx context.Context, actor audit.Actor, kind, name, source, note string) (Result, error) {
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
	if !strings.HasSuffix(source, "\n") {
		source += "\n"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(ctx); err != nil {
		return Result{}, err
	}
	doc := &registry.Document{Kind: kind, Name: name, Path: newPath(k, name), Source: source}
	if d, ok := m.Runtime.Current().Get(kind, name); ok {
		doc.Path, doc.Pos = d.Path, d.Pos // in its place in its file
	}
	path := doc.Path
	res, err := m.change(ctx, actor, map[registry.Key]*registry.Document{{Kind: kind, Name: name}: doc}, nil, note)
	if err != nil || !res.Problems.Empty() || !m.WriteBack {
		return res, err
	}
	if err := m.writeBack(path); err != nil {
		// The version runs everywhere; only the mirror in this folder
		// is behind.
		m.Log.Warn("published, but the file could not be written back to the folder", "path", path, "err", err)
	}
	return res, nil
}

// newPath is where a new document of kind k is kept: a file of its own in
// its kind's folder.
func newPath(k registry.Kind, name string) string {
	dir := k.Dir
	if dir == "" {
		dir = "flows"
	}
	ext := ".yaml"
	if k.FileExt != "" {
		ext = k.FileExt
	}
	return dir + "/" + name + ext
}

// writeBack writes the running text of one file into the folder, through a
// temporary name so a full disk leaves the old file whole.
func (m *Manager) writeBack(rel string) error {
	text, ok := registry.TextsOf(m.Runtime.Current().Documents())[rel]
	if !ok {
		return nil
	}
	path := filepath.Join(m.Root, filepath.FromSlash(rel))
	// ValidName keeps names inside the folder; checked again here because
	// this is where a name becomes a path.
	if r, err := filepath.Rel(m.Root, path); err != nil || strings.HasPrefix(r, "..") {
		return fmt.Errorf("%s leads outside %s", rel, m.Root)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".publishing"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if m.disk != nil {
		m.disk[rel] = text
	}
	return nil
}

// Push makes texts the whole configuration: documents not in them are
// removed (hotline config push). Linted, tests included, before anything
// is recorded.
func (m *Manager) Push(ctx context.Context, actor audit.Actor, texts registry.Texts, note string) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gen, err := m.Store.Generation(ctx)
	if err != nil {
		return Result{}, err
	}
	return m.record(ctx, actor, texts, gen, note)
}

// change builds the running set with some documents replaced or added and
// some removed, lints it, and records it over the generation it was built
// on; when another publish came first, it builds again on that one.
func (m *Manager) change(ctx context.Context, actor audit.Actor, replace map[registry.Key]*registry.Document, remove []registry.Key, note string) (Result, error) {
	if len(replace) == 0 && len(remove) == 0 {
		return Result{}, nil
	}
	for attempt := 0; ; attempt++ {
		var docs []*registry.Document
		for _, d := range m.Runtime.Current().Documents() {
			k := registry.Key{Kind: d.Kind, Name: d.Name}
			if _, replaced := replace[k]; !replaced && !slices.Contains(remove, k) {
				docs = append(docs, d)
			}
		}
		for _, d := range replace {
			docs = append(docs, d)
		}
		res, err := m.record(ctx, actor, registry.TextsOf(docs), m.gen, note)
		if !errors.Is(err, ErrConflict) || attempt == 2 {
			return res, err
		}
		if err := m.syncLocked(ctx); err != nil {
			return Result{}, err
		}
	}
}

// record lints texts (tests included) and, when clean, records them over
// generation base and runs them.
func (m *Manager) record(ctx context.Context, actor audit.Actor, texts registry.Texts, base int64, note string) (Result, error) {
	set, problems := registry.Load(ctx, nil, registry.LoadOptions{RunTests: true, Overrides: texts})
	if !problems.Empty() {
		m.Log.Warn("configuration has problems; keeping the running version", "problems", len(problems), "first", problems[0].String())
		return Result{Problems: problems}, nil
	}
	if len(set.Documents()) == 0 {
		return Result{Problems: diag.List{{Pos: diag.Pos{File: m.Root, Line: 1, Col: 1}, Message: "no configuration documents"}}}, nil
	}
	changes, gen, err := m.Store.RecordOver(ctx, set, actor, note, base)
	if err != nil {
		return Result{}, err
	}
	if m.Runtime != nil {
		m.Runtime.Swap(set)
		m.gen = gen
	}
	for _, c := range changes {
		m.Log.Info("configuration changed", "kind", c.Kind, "name", c.Name, "version", c.Version, "status", c.Status, "generation", gen)
	}
	return Result{Changes: changes}, nil
}

func (m *Manager) readDisk() (registry.Texts, error) {
	if m.Root == "" {
		return registry.Texts{}, nil
	}
	return registry.ReadTexts(m.Root, m.Dirs, nil)
}

// syncLocked loads the active set when the database holds a newer
// generation than the one running.
func (m *Manager) syncLocked(ctx context.Context) error {
	gen, err := m.Store.Generation(ctx)
	if err != nil || gen == m.gen {
		return err
	}
	texts, gen, err := m.Store.ActiveTexts(ctx)
	if err != nil {
		return err
	}
	set, problems := registry.Load(ctx, nil, registry.LoadOptions{Overrides: texts})
	if !problems.Empty() {
		// Linted when recorded, so only a binary stricter than the one
		// that recorded it gets here; running on beats stopping.
		return fmt.Errorf("the configuration of generation %d has problems on this node, keeping generation %d: %w", gen, m.gen, problems.Err())
	}
	m.Runtime.Swap(set)
	m.Log.Info("running the configuration of the database", "generation", gen, "was", m.gen)
	m.gen = gen
	return nil
}

// Sync makes the running set the database's active one, if it changed.
func (m *Manager) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncLocked(ctx)
}

// Generation is the generation this node runs.
func (m *Manager) Generation() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

// Follow keeps this node on the database's active set until ctx ends: woken
// by the notification of a change, and checking every poll in case one was
// missed (a dropped connection).
func (m *Manager) Follow(ctx context.Context, poll time.Duration) {
	wake := make(chan struct{}, 1)
	go m.listen(ctx, wake)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		if err := m.Sync(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("following the configuration", "err", err)
		}
	}
}

// listen signals wake on each notification of a change, reconnecting
// after a lost connection.
func (m *Manager) listen(ctx context.Context, wake chan<- struct{}) {
	for backoff := time.Second; ctx.Err() == nil; backoff = min(2*backoff, 30*time.Second) {
		err := m.Store.listen(ctx, func() {
			backoff = time.Second
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		if ctx.Err() != nil {
			return
		}
		m.Log.Warn("configuration feed lost; polling until it is back", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// Watch publishes the folders' edits (serve --watch), looking every
// interval: a developer's saved file runs within two intervals, or its
// problems are logged.
func (m *Manager) Watch(ctx context.Context, interval time.Duration, actor audit.Actor) {
	var tried, prev registry.Texts
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		disk, err := m.readDisk()
		if err != nil {
			m.Log.Error("watching the configuration folders", "err", err)
			continue
		}
		// A file is read once it stayed the same for an interval: an
		// editor's save caught halfway would read as documents removed.
		settled := maps.Equal(disk, prev)
		prev = disk
		m.mu.Lock()
		unchanged := maps.Equal(disk, m.disk) || maps.Equal(disk, tried)
		m.mu.Unlock()
		if unchanged || !settled {
			continue
		}
		tried = disk
		res, err := m.Reload(ctx, actor)
		switch {
		case err != nil:
			m.Log.Error("publishing edited configuration", "err", err)
		case !res.Problems.Empty():
			for _, p := range res.Problems {
				m.Log.Error("configuration problem; running version kept", "problem", p.String())
			}
		}
	}
}
