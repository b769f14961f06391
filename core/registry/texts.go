package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotline12345/hotline/core/diag"
)

// Texts are configuration files held in memory: slash-separated paths
// relative to the configuration root ("flows/ticket.yaml") and their text.
// A set loaded from texts (Load with Overrides and no paths) is the same
// whichever node or folder it came from, which is what lets the database,
// not a node's disk, hold the running configuration.
type Texts map[string]string

// ReadTexts reads the configuration files of dirs below root, as Load would
// find them, keyed by their path relative to root. Missing dirs are
// skipped.
func ReadTexts(root string, dirs []string, kinds *Kinds) (Texts, error) {
	if kinds == nil {
		kinds = defaultKinds
	}
	out := Texts{}
	for _, d := range dirs {
		p := filepath.Join(root, d)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		files, err := listFiles(p, kinds)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading configuration file: %w", err)
			}
			rel, err := filepath.Rel(root, f)
			if err != nil {
				return nil, fmt.Errorf("reading configuration file %s: %w", f, err)
			}
			out[filepath.ToSlash(rel)] = string(data)
		}
	}
	return out, nil
}

// Scan splits texts into their documents, decoded into their models but
// neither provisioned nor validated: what a folder holds, for comparing it
// with what runs before deciding what to load.
func Scan(texts Texts, kinds *Kinds) ([]*Document, diag.List) {
	if kinds == nil {
		kinds = defaultKinds
	}
	var diags diag.List
	var docs []*Document
	for _, p := range texts.Paths() {
		docs = append(docs, readFile(p, "", texts, kinds, &diags)...)
	}
	diags.Sort()
	return docs, diags
}

// Paths lists the paths in order.
func (t Texts) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TextsOf returns the files that hold the documents, each file's documents
// in the order they stood (Pos.Line; then by name) and separated as YAML
// documents are. A document whose text
// does not end in a newline goes last in its file, so joining does not
// change any document's text (and so its digest).
func TextsOf(docs []*Document) Texts {
	byPath := map[string][]*Document{}
	for _, d := range docs {
		byPath[d.Path] = append(byPath[d.Path], d)
	}
	out := Texts{}
	for p, list := range byPath {
		sort.SliceStable(list, func(i, j int) bool {
			ei, ej := strings.HasSuffix(list[i].Source, "\n"), strings.HasSuffix(list[j].Source, "\n")
			if ei != ej {
				return ei
			}
			if list[i].Pos.Line != list[j].Pos.Line {
				return list[i].Pos.Line < list[j].Pos.Line
			}
			if list[i].Kind != list[j].Kind {
				return list[i].Kind < list[j].Kind
			}
			return list[i].Name < list[j].Name
		})
		var b strings.Builder
		for i, d := range list {
			if i > 0 {
				if !strings.HasSuffix(b.String(), "\n") {
					b.WriteString("\n")
				}
				b.WriteString("---\n")
			}
			b.WriteString(d.Source)
		}
		out[p] = b.String()
	}
	return out
}
