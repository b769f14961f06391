package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/registry"
)

// configCmd moves configuration between folders and the database the
// cluster runs from.
func configCmd(out io.Writer, args []string) error {
	if len(args) == 0 || (args[0] != "push" && args[0] != "pull") {
		return errors.New("usage: hotline config push [--note TEXT] [DIR] | hotline config pull [DIR]")
	}
	fs := flag.NewFlagSet("config "+args[0], flag.ContinueOnError)
	note := fs.String("note", "", "with push: the note the new versions carry")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := app.FromEnv()
	if err != nil {
		return err
	}
	dir := cfg.ConfigDir
	if fs.NArg() > 1 {
		return fmt.Errorf("config %s: one folder at most, got %d", args[0], fs.NArg())
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	ctx := context.Background()
	return app.WithStore(ctx, cfg, logger(cfg), func(pool *pgxpool.Pool) error {
		st := configstore.New(pool)
		if args[0] == "pull" {
			return pullConfig(ctx, out, st, dir)
		}
		return pushConfig(ctx, out, st, dir, *note)
	})
}

// pushConfig makes the folder the configuration every node runs.
func pushConfig(ctx context.Context, out io.Writer, st *configstore.Store, dir, note string) error {
	texts, err := registry.ReadTexts(dir, configstore.DefaultDirs, nil)
	if err != nil {
		return err
	}
	if note == "" {
		note = "hotline config push " + dir
	}
	m := &configstore.Manager{Root: dir, Store: st, Log: logger(app.Config{LogLevel: "warn"})}
	res, err := m.Push(ctx, audit.Actor{Name: "hotline config push"}, texts, note)
	if err != nil {
		return err
	}
	for _, p := range res.Problems {
		fmt.Fprintln(out, p.String())
	}
	if !res.Problems.Empty() {
		return fmt.Errorf("%d problems: nothing was published", len(res.Problems))
	}
	for _, c := range res.Changes {
		fmt.Fprintf(out, "%-8s %s/%s@%d\n", c.Status, c.Kind, c.Name, c.Version)
	}
	fmt.Fprintf(out, "%d documents changed; every node runs them within a second\n", len(res.Changes))
	return nil
}

// pullConfig writes the running configuration into the folder: afterwards
// its configuration folders hold exactly the running documents, so a push
// of it changes nothing.
func pullConfig(ctx context.Context, out io.Writer, st *configstore.Store, dir string) error {
	texts, gen, err := st.ActiveTexts(ctx)
	if err != nil {
		return err
	}
	if len(texts) == 0 {
		return errors.New("the database holds no configuration yet (a server's first start records it)")
	}
	before, err := registry.ReadTexts(dir, configstore.DefaultDirs, nil)
	if err != nil {
		return err
	}
	for _, rel := range texts.Paths() {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if r, err := filepath.Rel(dir, path); err != nil || strings.HasPrefix(r, "..") {
			return fmt.Errorf("stored path %q leads outside %s", rel, dir)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("pulling configuration: %w", err)
		}
		if err := os.WriteFile(path, []byte(texts[rel]), 0o644); err != nil {
			return fmt.Errorf("pulling configuration: %w", err)
		}
	}
	for _, rel := range before.Paths() {
		if _, kept := texts[rel]; kept {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("pulling configuration: removing %s, which holds no running document: %w", rel, err)
		}
		fmt.Fprintf(out, "removed  %s (holds no running document)\n", rel)
	}
	fmt.Fprintf(out, "wrote %d files of configuration generation %d into %s\n", len(texts), gen, dir)
	return nil
}
