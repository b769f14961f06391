package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/registry"
)

// SDLPath is where the printed GraphQL schema is kept, relative to the
// repository root.
const SDLPath = "schema/graphql/schema.graphql"

// ConfigSchemaDir holds one JSON Schema per YAML configuration kind.
const ConfigSchemaDir = "schema/config"

// SchemaFiles returns the generated schema files by path: the GraphQL SDL,
// the JSON Schemas of the configuration kinds and the registry's reference. `hotline schema` writes
// them; a test fails when the committed files drift from the code.
func SchemaFiles() (map[string]string, error) {
	s, err := BuildSchema(graphQL(Modules()))
	if err != nil {
		return nil, err
	}
	files := map[string]string{SDLPath: gql.PrintSchema(s)}
	kinds := registry.Default()
	for _, name := range kinds.Names() {
		k, _ := kinds.Lookup(name)
		if k.New == nil {
			continue
		}
		js, err := kinds.JSONSchema(name)
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(js, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding JSON Schema of %s: %w", name, err)
		}
		files[filepath.ToSlash(filepath.Join(ConfigSchemaDir, name+".schema.json"))] = string(b) + "\n"
	}
	for path, content := range registry.Global().Reference() {
		files[filepath.ToSlash(filepath.Join(registry.ReferenceDir, path))] = content
	}
	return files, nil
}

// WriteSchemaFiles writes SchemaFiles below root.
func WriteSchemaFiles(root string) ([]string, error) {
	files, err := SchemaFiles()
	if err != nil {
		return nil, err
	}
	var written []string
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if old, err := os.ReadFile(full); err == nil && string(old) == content {
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	return written, nil
}
