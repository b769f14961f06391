package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotline12345/hotline/core/registry"
)

// kindsCmd lists the registry's entries by ID, or with --docs writes (or
// checks) their reference pages.
func kindsCmd(out io.Writer, args []string) error {
	var docs, check bool
	dir := registry.ReferenceDir
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--docs" || a == "-docs":
			docs = true
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				dir = args[i+1]
				i++
			}
		case a == "--check" || a == "-check":
			check = true
		default:
			return fmt.Errorf("kinds: unknown argument %q (expected --docs [DIR] [--check])", a)
		}
	}
	reg := registry.Global()
	if !docs {
		if check {
			return errors.New("kinds: --check goes with --docs")
		}
		for _, ns := range reg.Namespaces() {
			for _, e := range reg.Entries(ns.ID) {
				fmt.Fprintf(out, "%-36s %s\n", e.ID(), e.Spec.Summary)
			}
		}
		return nil
	}
	files := reg.Reference()
	stale, err := staleFiles(dir, files)
	if err != nil {
		return err
	}
	if check {
		if len(stale) > 0 {
			return fmt.Errorf("the reference in %s is out of date (run hotline kinds --docs): %s", dir, strings.Join(stale, ", "))
		}
		return nil
	}
	for _, p := range stale {
		full := filepath.Join(dir, p)
		content, ok := files[p]
		if !ok {
			if err := os.Remove(full); err != nil {
				return fmt.Errorf("removing a page of no entry: %w", err)
			}
			fmt.Fprintln(out, "removed", full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing the reference: %w", err)
		}
		fmt.Fprintln(out, "wrote", full)
	}
	return nil
}

// staleFiles lists the pages under dir that differ from files, are missing,
// or belong to no entry any more (Markdown files only), sorted.
func staleFiles(dir string, files map[string]string) ([]string, error) {
	var stale []string
	for p, content := range files {
		if old, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(old) != content {
			stale = append(stale, p)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || filepath.Ext(p) != ".md" {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); files[rel] == "" {
			stale = append(stale, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the reference in %s: %w", dir, err)
	}
	slices.Sort(stale)
	return stale, nil
}
