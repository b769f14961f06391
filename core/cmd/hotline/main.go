// Command hotline is the platform's one binary: the server, the
// configuration linter and the tools around them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/flowtest"
	"github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/deploy/gen"
	"github.com/hotline12345/hotline/schema"
)

const usage = `hotline — 12345 hotline platform

Usage:
  hotline serve [--demo] [--watch]
                                run the platform (HTTP, GraphQL; see README for HOTLINE_* variables);
                                --watch publishes edits of flows/ forms/ scripts/ as they are saved
  hotline config push [--note TEXT] [DIR]
                                make DIR's flows/ forms/ scripts/ the configuration every node runs
                                (linted, tests included; documents not in DIR are removed)
  hotline config pull [DIR]     write the running configuration into DIR (files holding no running
                                document are removed)
  hotline lint [paths...]       check configuration (default: flows forms scripts) and run its tests;
                                prints file:line:col: message per problem, exit status 1 if any
  hotline kinds                 list what configuration can name (kinds, effects, procedures, field
                                types, rule environments, ACD strategies, permissions) by ID
  hotline kinds --docs [DIR] [--check]
                                write the Markdown reference of every entry into DIR (default
                                schema/reference), or with --check fail when it differs
  hotline schema [--check]      write schema/graphql/schema.graphql, schema/config/*.schema.json and
                                schema/reference/, or with --check fail when they differ from the code
  hotline gen --tickets N [--seed S] [--years Y] [--bulk]
                                add N generated Hohhot tickets (deterministic for a seed) to the
                                database of HOTLINE_DATABASE_URL or the private one under HOTLINE_DATA
  hotline reindex               rebuild the ticket search index from the tickets
  hotline kb import --as USER [--then ACTION] [--valid-only] FILE.json
                                import knowledge from another knowledge base (the JSON format in
                                README) as USER (password in HOTLINE_PASSWORD), into the article flow
  hotline kb reindex            rebuild this node's knowledge index (with the server stopped)
  hotline flow graph NAME [--dot] print a flow as a Mermaid state diagram (or Graphviz DOT)
  hotline flow test [paths...]  run the flow scenarios (kind: flow-test) on a throwaway PostgreSQL
  hotline testdb -- CMD ARGS    run CMD with a private throwaway PostgreSQL (HOTLINE_TEST_PG set);
                                what 'make test' uses
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "lint":
		var problems int
		problems, err = lint(os.Stdout, os.Args[2:])
		if err == nil && problems > 0 {
			os.Exit(1)
		}
	case "kinds":
		err = kindsCmd(os.Stdout, os.Args[2:])
	case "schema":
		err = schemaCmd(os.Args[2:])
	case "testdb":
		err = testdb(os.Args[2:])
	case "config":
		err = configCmd(os.Stdout, os.Args[2:])
	case "flow":
		err = flowCmd(os.Stdout, os.Args[2:])
	case "gen":
		err = genCmd(os.Args[2:])
	case "reindex":
		err = reindexCmd(os.Args[2:])
	case "kb":
		err = kbCmd(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "hotline: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		var child childExit
		if errors.As(err, &child) {
			os.Exit(child.code)
		}
		fmt.Fprintf(os.Stderr, "hotline: %v\n", err)
		os.Exit(1)
	}
}

func logger(cfg app.Config) *slog.Logger { return app.NewLogger(cfg, os.Stderr) }

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "load the demo organisation and accounts (deploy/demo)")
	demoTickets := fs.Int("demo-tickets", 3000, "with --demo, generated tickets an empty database starts with")
	demoArticles := fs.Int("demo-articles", 300, "with --demo, generated knowledge articles an empty knowledge base starts with")
	watch := fs.Bool("watch", false, "publish edits of the configuration folders as they are saved, and write publishes back into them (development)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.FromEnv()
	if err != nil {
		return err
	}
	log := logger(cfg)
	slog.SetDefault(log)
	return app.Serve(context.Background(), cfg, app.Options{Demo: *demo, DemoTickets: *demoTickets, DemoArticles: *demoArticles, Watch: *watch}, log)
}

func lint(out io.Writer, paths []string) (int, error) {
	if len(paths) == 0 {
		for _, d := range configstore.DefaultDirs {
			if _, err := os.Stat(d); err == nil {
				paths = append(paths, d)
			}
		}
	}
	start := time.Now()
	set, problems := registry.Load(context.Background(), paths, registry.LoadOptions{RunTests: true})
	for _, p := range problems {
		fmt.Fprintln(out, p.String())
	}
	if len(problems) == 0 {
		fmt.Fprintf(os.Stderr, "%d documents in %s: no problems (%s)\n", len(set.Documents()), strings.Join(paths, " "), time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(os.Stderr, "%d problems\n", len(problems))
	}
	return len(problems), nil
}

func schemaCmd(args []string) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	check := fs.Bool("check", false, "fail when the files differ from the code instead of writing them")
	root := fs.String("root", ".", "repository root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *check {
		files, err := app.SchemaFiles()
		if err != nil {
			return err
		}
		var stale []string
		for path, content := range files {
			old, err := os.ReadFile(filepath.Join(*root, path))
			if err != nil || string(old) != content {
				stale = append(stale, path)
			}
		}
		if len(stale) > 0 {
			return fmt.Errorf("generated schema files are out of date (run hotline schema): %s", strings.Join(stale, ", "))
		}
		return nil
	}
	written, err := app.WriteSchemaFiles(*root)
	for _, w := range written {
		fmt.Println("wrote", w)
	}
	return err
}

// testdb runs a command with one private PostgreSQL for the whole test run,
// so every test package clones its databases from one migrated template.
func testdb(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("testdb: give a command to run, e.g. hotline testdb -- go test ./...")
	}
	dir, err := os.MkdirTemp("", "hotline-testdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(dir, "pg"), Settings: pgserver.TestSettings, Logger: log})
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = srv.Stop(ctx)
	}()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), pgserver.TestEnvVar+"="+srv.ConnString("postgres"))
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return childExit{code: exit.ExitCode()}
		}
		return err
	}
	return nil
}

// childExit passes the exit status of the command testdb ran through as
// hotline's own, without a message: the command has said what failed.
type childExit struct{ code int }

func (c childExit) Error() string { return fmt.Sprintf("exit status %d", c.code) }

func flowCmd(out io.Writer, args []string) error {
	if len(args) > 0 && args[0] == "test" {
		return flowTest(out, args[1:])
	}
	if len(args) == 0 || args[0] != "graph" {
		return errors.New("flow: expected 'graph NAME [--dot]' or 'test [paths...]'")
	}
	fs := flag.NewFlagSet("flow graph", flag.ContinueOnError)
	dot := fs.Bool("dot", false, "print Graphviz DOT instead of Mermaid")
	// Flags may follow the name: hotline flow graph ticket --dot.
	var flags, names []string
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			names = append(names, a)
		}
	}
	if err := fs.Parse(append(flags, names...)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("flow graph: name one flow")
	}
	var paths []string
	for _, d := range configstore.DefaultDirs {
		if _, err := os.Stat(d); err == nil {
			paths = append(paths, d)
		}
	}
	set, problems := registry.Load(context.Background(), paths, registry.LoadOptions{})
	if !problems.Empty() {
		return fmt.Errorf("the configuration has problems (run hotline lint):\n%w", problems.Err())
	}
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, fs.Arg(0))
	if !ok {
		var names []string
		for _, d := range set.All(flow.Kind) {
			names = append(names, d.Name)
		}
		return fmt.Errorf("no flow named %q%s", fs.Arg(0), registry.Suggest(fs.Arg(0), names))
	}
	if *dot {
		_, err := io.WriteString(out, f.DOT())
		return err
	}
	_, err := io.WriteString(out, f.Mermaid())
	return err
}

// flowTest runs flow scenarios, each on a fresh database cloned from a
// migrated template on a private throwaway server.
func flowTest(out io.Writer, paths []string) error {
	if len(paths) == 0 {
		for _, d := range configstore.DefaultDirs {
			if _, err := os.Stat(d); err == nil {
				paths = append(paths, d)
			}
		}
	}
	ctx := context.Background()
	set, problems := registry.Load(ctx, paths, registry.LoadOptions{RunTests: true})
	if !problems.Empty() {
		for _, p := range problems {
			fmt.Fprintln(out, p.String())
		}
		return fmt.Errorf("%d problems: fix them first (hotline lint)", len(problems))
	}
	scenarios := len(set.All(flowtest.Kind))
	if scenarios == 0 {
		fmt.Fprintln(os.Stderr, "no flow scenarios (kind: flow-test) found")
		return nil
	}
	dir, err := os.MkdirTemp("", "hotline-flowtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(dir, "pg"), Settings: pgserver.TestSettings, Logger: log})
	if err != nil {
		return err
	}
	defer srv.Stop(context.Background()) //nolint:errcheck
	admin, err := pgx.Connect(ctx, srv.ConnString(""))
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE DATABASE template_flowtest`); err != nil {
		return err
	}
	tmpl, err := store.Open(ctx, srv.ConnString("template_flowtest"))
	if err != nil {
		return err
	}
	migrations, err := store.ReadMigrations(schema.Migrations, "migrations")
	if err == nil {
		_, err = store.Migrate(ctx, tmpl, migrations, log)
	}
	tmpl.Close()
	if err != nil {
		return err
	}
	n := 0
	runner := flowtest.Runner{Database: func(ctx context.Context) (*pgxpool.Pool, func(), error) {
		n++
		name := fmt.Sprintf("scenario_%d", n)
		if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template_flowtest`); err != nil {
			return nil, nil, err
		}
		pool, err := store.Open(ctx, srv.ConnString(name))
		return pool, func() {
			if pool != nil {
				pool.Close()
			}
			_, _ = admin.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name)
		}, err
	}}
	failures, err := runner.Run(ctx, set)
	if err != nil {
		return err
	}
	for _, f := range failures {
		fmt.Fprintln(out, f.String())
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failed checks in %d scenarios", len(failures), scenarios)
	}
	fmt.Fprintf(os.Stderr, "%d scenarios passed\n", scenarios)
	return nil
}

func genCmd(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	n := fs.Int("tickets", 10000, "tickets to add")
	seed := fs.Uint64("seed", 1, "the same seed gives the same tickets")
	years := fs.Float64("years", 3, "years the tickets are spread over, ending now")
	demo := fs.Bool("demo", true, "load the demo organisation and accounts first (the tickets need units and agents)")
	bulk := fs.Bool("bulk", false, "drop the search indexes while loading and build them at the end (faster for large N; not while serving)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withTools(app.Options{Demo: *demo}, func(t app.Tools) error {
		start := time.Now()
		err := gen.Generate(context.Background(), t.Pool, t.Config.Current(), gen.Options{Tickets: *n, Seed: *seed, Years: *years, Bulk: *bulk,
			Progress: func(done int) { fmt.Fprintf(os.Stderr, "\r%d/%d tickets", done, *n) },
			Built: func(d time.Duration) {
				fmt.Fprintf(os.Stderr, "\nsearch indexes built in %s\n", d.Round(time.Millisecond))
			}})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		fmt.Printf("generated %d tickets in %s\n", *n, time.Since(start).Round(time.Millisecond))
		return nil
	})
}

func reindexCmd(args []string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withTools(app.Options{}, func(t app.Tools) error {
		start := time.Now()
		n, err := t.Tickets.Store.Reindex(context.Background(), 1000, func(done int) { fmt.Fprintf(os.Stderr, "\r%d tickets", done) })
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		fmt.Printf("reindexed %d tickets in %s\n", n, time.Since(start).Round(time.Millisecond))
		return nil
	})
}

func kbCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("kb: say import or reindex")
	}
	switch args[0] {
	case "reindex":
		return withTools(app.Options{}, func(t app.Tools) error {
			ctx := context.Background()
			if err := t.Knowledge.Open(ctx); err != nil {
				return err
			}
			defer t.Knowledge.Close(ctx)
			n, err := t.Knowledge.Rebuild(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("indexed %d knowledge articles\n", n)
			return nil
		})
	case "import":
		fs := flag.NewFlagSet("kb import", flag.ContinueOnError)
		as := fs.String("as", "", "the editor the articles are imported as (password in HOTLINE_PASSWORD)")
		then := fs.String("then", "", "an action performed on each imported article, e.g. submit (send for review)")
		save := fs.String("save-action", "save", "the article flow's action that changes a draft")
		revise := fs.String("revise-action", "revise", "the article flow's action that reopens a published article")
		validOnly := fs.Bool("valid-only", false, "import the valid articles of a file with problems (otherwise nothing is imported)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *as == "" || fs.NArg() != 1 {
			return fmt.Errorf("usage: hotline kb import --as USER [--then ACTION] [--valid-only] FILE.json")
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		return withTools(app.Options{}, func(t app.Tools) error {
			ctx := context.Background()
			p, err := t.SignIn(ctx, *as, os.Getenv("HOTLINE_PASSWORD"))
			if err != nil {
				return err
			}
			res, err := t.Knowledge.ImportExternal(ctx, p, f, knowledge.ImportOptions{ValidOnly: *validOnly, Then: *then, Save: *save, Revise: *revise})
			if err != nil {
				return err
			}
			for _, pr := range res.Problems {
				fmt.Fprintf(os.Stderr, "%s: article %d: %s: %s\n", fs.Arg(0), pr.Row, pr.Column, pr.Message)
			}
			fmt.Printf("%d articles read, %d imported or changed\n", res.Rows, res.Imported)
			if len(res.Problems) > 0 && res.Imported == 0 {
				return fmt.Errorf("nothing imported: %d problems", len(res.Problems))
			}
			return nil
		})
	}
	return fmt.Errorf("kb: unknown command %q (import, reindex)", args[0])
}

// withTools runs fn on the platform's storage and configuration, set up
// from the HOTLINE_* environment as serve would.
func withTools(opts app.Options, fn func(app.Tools) error) error {
	cfg, err := app.FromEnv()
	if err != nil {
		return err
	}
	return app.WithTools(context.Background(), cfg, opts, logger(cfg), fn)
}
