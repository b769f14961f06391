package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// Document is one configuration document: a YAML document inside a file, or
// a whole file claimed by extension (a Lua script).
type Document struct {
	Kind string
	Name string
	// Path is the file's slash-separated path as given to Load, which is
	// what diagnostics print and what versions record.
	Path string
	// Pos is where the document starts.
	Pos diag.Pos
	// Source is the exact text of this document, versioned and diffed.
	Source string
	// Digest is the hex SHA-256 of Source.
	Digest string
	// Model is the decoded, provisioned value of the kind's model type.
	Model any

	node      *yaml.Node
	firstLine int
}

// Key identifies a document within a set.
type Key struct{ Kind, Name string }

func (k Key) String() string { return k.Kind + "/" + k.Name }

// Set is an immutable snapshot of loaded configuration.
type Set struct {
	docs   map[Key]*Document
	byKind map[string][]*Document
	// LoadedAt is when the set was loaded.
	LoadedAt time.Time
}

// Get returns one document.
func (s *Set) Get(kind, name string) (*Document, bool) {
	d, ok := s.docs[Key{kind, name}]
	return d, ok
}

// All returns the documents of one kind, ordered by name.
func (s *Set) All(kind string) []*Document { return s.byKind[kind] }

// Documents returns every document ordered by kind and name.
func (s *Set) Documents() []*Document {
	out := make([]*Document, 0, len(s.docs))
	for _, d := range s.docs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Model returns the typed model of one document.
func Model[T any](s *Set, kind, name string) (T, bool) {
	var zero T
	d, ok := s.Get(kind, name)
	if !ok {
		return zero, false
	}
	m, ok := d.Model.(T)
	return m, ok
}

// Context is handed to a model in each phase: the document being worked on,
// the whole set for references, and the place to report problems.
type Context struct {
	Doc   *Document
	Set   *Set
	diags *diag.List
}

// Errorf reports a problem at pos; a zero pos means the document's start.
func (c *Context) Errorf(pos diag.Pos, format string, args ...any) {
	if pos.File == "" {
		pos = c.Doc.Pos
	}
	c.diags.Addf(pos, format, args...)
}

// At returns the position of the value at a path of keys (strings) and list
// indices (ints) in the document, e.g. At("actions", 2, "to"), or the
// closest enclosing position found, so validators can point at any key
// without position-carrying types in their models.
func (c *Context) At(path ...any) diag.Pos {
	n := c.Doc.node
	pos := c.Doc.Pos
	for _, step := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				next = mappingValue(n, s)
			}
		case int:
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n = next
		pos = diag.Pos{File: c.Doc.Path, Line: n.Line, Col: n.Column}
	}
	return pos
}

// Report adds diagnostics produced elsewhere (an expression compiler).
func (c *Context) Report(l diag.List) { c.diags.Append(l) }

// Resolve looks up the document of the given kind that ref names and reports
// a dangling reference at ref's position.
func (c *Context) Resolve(kind string, ref Ref) (*Document, bool) {
	d, ok := c.Set.Get(kind, ref.Name)
	if !ok {
		c.Errorf(ref.Pos, "unknown %s %q%s", kind, ref.Name, c.known(kind, ref.Name))
	}
	return d, ok
}

func (c *Context) known(kind, name string) string {
	docs := c.Set.All(kind)
	if len(docs) == 0 {
		return fmt.Sprintf(" (no %s is defined)", kind)
	}
	names := make([]string, len(docs))
	for i, d := range docs {
		names[i] = d.Name
	}
	return Suggest(name, names)
}

// Suggest returns " (did you mean "x"?)" for the closest of names, or the
// list of names when none is close; used wherever a name is not found.
func Suggest(name string, names []string) string {
	fields := make([]fieldInfo, len(names))
	for i, n := range names {
		fields[i] = fieldInfo{name: n}
	}
	return suggestFrom(name, fields, "one of")
}

// LoadOptions tune Load.
type LoadOptions struct {
	// Kinds to decode with; nil means Default().
	Kinds *Kinds
	// RunTests runs the configuration unit tests of documents (Tester).
	RunTests bool
	// Overrides replaces (or adds) files' contents, keyed by path as
	// listed from paths: how a publish is linted together with everything
	// else before anything is written.
	Overrides map[string]string
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$`)

// Load reads every configuration file under paths (files or directories,
// walked recursively, hidden entries skipped), and returns the set together
// with every problem found. The set is usable only when the list is empty.
func Load(ctx context.Context, paths []string, opts LoadOptions) (*Set, diag.List) {
	kinds := opts.Kinds
	if kinds == nil {
		kinds = defaultKinds
	}
	var diags diag.List
	set := &Set{docs: map[Key]*Document{}, byKind: map[string][]*Document{}, LoadedAt: time.Now()}

	var files []string
	roots := map[string]string{} // file -> the path it was found under
	for _, p := range paths {
		found, err := listFiles(p, kinds)
		if err != nil {
			diags.Addf(diag.Pos{File: filepath.ToSlash(p), Line: 1, Col: 1}, "%v", err)
			continue
		}
		for _, f := range found {
			roots[f] = p
		}
		files = append(files, found...)
	}
	for p := range opts.Overrides {
		if !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	sort.Strings(files)

	var docs []*Document
	for _, f := range files {
		docs = append(docs, readFile(f, roots[f], opts.Overrides, kinds, &diags)...)
	}
	for _, d := range docs {
		k := Key{d.Kind, d.Name}
		if prev, dup := set.docs[k]; dup {
			diags.Addf(d.Pos, "%s %q is already defined at %s", d.Kind, d.Name, prev.Pos)
			continue
		}
		set.docs[k] = d
		set.byKind[d.Kind] = append(set.byKind[d.Kind], d)
	}
	for _, list := range set.byKind {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	}

	docs = set.Documents()
	for _, d := range docs {
		if p, ok := d.Model.(Provisioner); ok {
			p.Provision(&Context{Doc: d, Set: set, diags: &diags})
		}
	}
	for _, d := range docs {
		if v, ok := d.Model.(Validator); ok {
			v.Validate(&Context{Doc: d, Set: set, diags: &diags})
		}
	}
	// Tests run only on a configuration that is otherwise sound: a failing
	// test on top of a broken reference would only repeat the first error.
	if opts.RunTests && diags.Empty() {
		for _, d := range docs {
			if t, ok := d.Model.(Tester); ok {
				t.Test(ctx, &Context{Doc: d, Set: set, diags: &diags})
			}
		}
	}
	diags.Sort()
	return set, diags
}

func listFiles(root string, kinds *Kinds) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		ext := filepath.Ext(p)
		if _, claimed := kinds.byExt(ext); claimed || ext == ".yaml" || ext == ".yml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking configuration folder %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func readFile(path, root string, overrides map[string]string, kinds *Kinds, diags *diag.List) []*Document {
	file := filepath.ToSlash(path)
	data, err := os.ReadFile(path)
	if text, ok := overrides[path]; ok {
		data, err = []byte(text), nil
	}
	if err != nil {
		diags.Addf(diag.Pos{File: file}, "reading configuration file: %v", err)
		return nil
	}
	// Editors on Windows desktops save UTF-8 with a byte-order mark.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if k, ok := kinds.byExt(filepath.Ext(path)); ok {
		d := &Document{Kind: k.Name, Name: nameFromPath(path, root), Path: file, Pos: diag.Pos{File: file, Line: 1, Col: 1}, Source: string(data), firstLine: 1}
		d.Digest = digest(d.Source)
		if !ValidName(d.Name) {
			diags.Addf(d.Pos, "file name %q: name script files with letters, digits, '_', '-' and '.'", d.Name)
			return nil
		}
		model, l := k.Parse(d)
		diags.Append(l)
		if model == nil {
			return nil
		}
		d.Model = model
		return []*Document{d}
	}
	var docs []*Document
	for _, chunk := range splitDocuments(string(data)) {
		if d := decodeChunk(file, chunk, kinds, diags); d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// nameFromPath names a file-backed document by its path below the folder
// it was found in, and below a configuration folder within that:
// scripts/phone/normalize.lua is "phone/normalize" whether the loader was
// given "scripts" or the folder holding it.
func nameFromPath(path, root string) string {
	rel := path
	if root != "" {
		rel = filepath.Base(path)
		if r, err := filepath.Rel(root, path); err == nil && r != "." {
			rel = r
		}
	}
	name := strings.TrimSuffix(filepath.ToSlash(rel), filepath.Ext(rel))
	for _, top := range configFolders {
		if after, ok := strings.CutPrefix(name, top+"/"); ok {
			return after
		}
		if i := strings.LastIndex(name, "/"+top+"/"); i >= 0 {
			return name[i+len(top)+2:]
		}
	}
	return name
}

// configFolders are the folders of the layout that hold configuration.
var configFolders = []string{"flows", "forms", "scripts"}

// ValidName reports whether name can name a document: slash-separated
// segments of letters, digits, '_', '-' and '.', each starting with a
// letter or digit (so no empty, "." or ".." segment can reach a file path).
func ValidName(name string) bool { return namePattern.MatchString(name) }

type chunk struct {
	text      string
	firstLine int // 1-based line of the chunk's first line in the file
}

// splitDocuments cuts a multi-document YAML file at its `---` lines, so each
// document can be versioned and diffed on its own with true line numbers.
func splitDocuments(text string) []chunk {
	var out []chunk
	lines := strings.SplitAfter(text, "\n")
	start := 0
	var buf strings.Builder
	for i, l := range lines {
		trimmed := strings.TrimRight(l, "\r\n")
		if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
			out = append(out, chunk{text: buf.String(), firstLine: start + 1})
			buf.Reset()
			start = i + 1
			continue
		}
		buf.WriteString(l)
	}
	out = append(out, chunk{text: buf.String(), firstLine: start + 1})
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func decodeChunk(file string, c chunk, kinds *Kinds, diags *diag.List) *Document {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(c.text), &root); err != nil {
		// yaml.v3 reports lines only; column 1 keeps the file:line:col form.
		pos := diag.Pos{File: file, Line: c.firstLine, Col: 1}
		msg := err.Error()
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				pos.Line = c.firstLine + n - 1
				msg = m[2]
			}
		}
		diags.Addf(pos, "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
		return nil
	}
	if len(root.Content) == 0 {
		return nil // only comments or blank
	}
	shiftLines(&root, c.firstLine-1)
	n := root.Content[0]
	pos := diag.Pos{File: file, Line: n.Line, Col: n.Column}
	if n.Kind != yaml.MappingNode {
		diags.Addf(pos, "a configuration document must be a mapping with kind and name, got %s", Describe(n))
		return nil
	}
	kindNode, nameNode := mappingValue(n, "kind"), mappingValue(n, "name")
	if kindNode == nil {
		diags.Addf(pos, "missing key \"kind\" (one of: %s)", strings.Join(kinds.Names(), ", "))
		return nil
	}
	k, ok := kinds.Lookup(kindNode.Value)
	if !ok || k.New == nil {
		diags.Addf(diag.Pos{File: file, Line: kindNode.Line, Col: kindNode.Column}, "unknown kind %q%s", kindNode.Value, Suggest(kindNode.Value, kinds.Names()))
		return nil
	}
	if nameNode == nil {
		diags.Addf(pos, "missing key \"name\"")
		return nil
	}
	if !namePattern.MatchString(nameNode.Value) {
		diags.Addf(diag.Pos{File: file, Line: nameNode.Line, Col: nameNode.Column},
			"name %q: use letters, digits, '_', '-', '.' or '/' (labels shown to users go in \"label\")", nameNode.Value)
		return nil
	}
	d := &Document{
		Kind: k.Name, Name: nameNode.Value, Path: file, Pos: pos,
		Source: c.text, node: n, firstLine: c.firstLine,
	}
	d.Digest = digest(d.Source)
	model := k.New()
	before := len(*diags)
	dec := &decoder{file: file, diags: diags, skip: map[string]bool{"kind": true}}
	dec.decode(n, reflectElem(model), "")
	if len(*diags) > before {
		// A model that failed to decode is not provisioned or validated:
		// its zero values would only produce follow-on noise.
		return nil
	}
	d.Model = model
	return d
}

func shiftLines(n *yaml.Node, by int) {
	if n.Line > 0 {
		n.Line += by
	}
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Line returns line n (1-based, counted in the whole file) of the
// document's text, or "" outside it.
func (d *Document) Line(n int) string {
	i := n - d.firstLine
	lines := strings.Split(d.Source, "\n")
	if i < 0 || i >= len(lines) {
		return ""
	}
	return lines[i]
}

// Node returns the YAML node of a YAML-backed document (nil for files parsed
// by extension), for kinds that keep parts of it free-form.
func (d *Document) Node() *yaml.Node { return d.node }

func reflectElem(model any) reflect.Value {
	v := reflect.ValueOf(model)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("registry: Kind.New must return a non-nil pointer")
	}
	return v.Elem()
}

// Rebuild loads a set from the documents of base with some texts replaced,
// without touching the files: how an older version of one document is
// brought back to life beside the current versions of everything it
// refers to (a ticket keeps the flow version it started on). Documents of
// the kinds in omit are left out: the configuration tests of the current
// version, which an older one is not expected to pass.
func Rebuild(ctx context.Context, base *Set, replace map[Key]string, omit []string, opts LoadOptions) (*Set, diag.List) {
	const prefix = "(version)/"
	overrides := map[string]string{}
	for _, d := range base.Documents() {
		if slices.Contains(omit, d.Kind) {
			continue
		}
		path := prefix + d.Path
		text, ok := replace[Key{d.Kind, d.Name}]
		if !ok {
			text = d.Source
		}
		if _, seen := overrides[path]; seen {
			// Several documents of one file: keep them in one text, in
			// file order, separated as they were.
			overrides[path] += "---\n" + text
			continue
		}
		overrides[path] = text
	}
	opts.Overrides = overrides
	return Load(ctx, nil, opts)
}
