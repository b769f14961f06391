// Command knowledge benchmarks the knowledge base: publishing generated
// articles through the knowledge flow, building a node's search index from
// PostgreSQL, searching and suggesting. It runs on the database of
// HOTLINE_DATA_DIR (or HOTLINE_DATABASE_URL), adding articles until there
// are -articles of them, so a second run reuses the first one's.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/deploy/bench/timing"
	"github.com/hotline12345/hotline/deploy/gen"
)

func main() {
	articles := flag.Int("articles", 50_000, "articles the knowledge base should hold")
	queries := flag.Int("queries", 1000, "searches and suggestions to time")
	workers := flag.Int("workers", 4, "concurrent editors publishing")
	rebuild := flag.Bool("rebuild", false, "build this node's index again from the database")
	imports := flag.Int("import", 1000, "articles imported from a spreadsheet at the end")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := app.FromEnv()
	if err == nil {
		err = app.WithTools(context.Background(), cfg, app.Options{Demo: true}, log, func(t app.Tools) error {
			return run(t, log, *articles, *queries, *workers, *imports, *rebuild)
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(t app.Tools, log *slog.Logger, n, nq, workers, imports int, rebuild bool) error {
	ctx := context.Background()
	login := func(user string) (*identity.Principal, error) { return t.SignIn(ctx, user, "Hotline@12345") }
	editor, err := login("kbeditor")
	if err != nil {
		return err
	}
	reviewer, err := login("kbreviewer")
	if err != nil {
		return err
	}
	v, err := gen.LoadKnowledgeVocabulary()
	if err != nil {
		return err
	}
	now := time.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	all := gen.Articles(v, 5, n, today)

	var have int
	if err := t.Pool.QueryRow(ctx, `SELECT count(*) FROM kb_articles`).Scan(&have); err != nil {
		return err
	}
	if have < n {
		todo := all[have:]
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				var mine []map[string]any
				for i := w; i < len(todo); i += workers {
					mine = append(mine, todo[i])
				}
				_, errs[w] = gen.PublishArticles(ctx, t.Tickets, editor, reviewer, mine)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		took := time.Since(start)
		fmt.Printf("published %d articles through the flow (create, submit, approve) with %d editors in %s: %.0f articles/s\n",
			len(todo), workers, took.Round(time.Second), float64(len(todo))/took.Seconds())
	}
	fmt.Printf("knowledge base: %d articles\n", n)

	s := t.Knowledge
	start := time.Now()
	if err := s.Open(ctx); err != nil {
		return err
	}
	defer s.Close(ctx)
	if rebuild {
		start = time.Now()
		if _, err := s.Rebuild(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("opening the node's index (building what it lacks from PostgreSQL): %s, %.0f MB on disk\n",
		time.Since(start).Round(10*time.Millisecond), float64(dirSize(s.Dir))/1e6)

	// What agents type, cut from the articles: two characters, phrases,
	// keywords, two words.
	r := rand.New(rand.NewPCG(21, 22))
	texts := make([]string, len(all))
	for i, a := range all {
		texts[i] = a["title"].(string) + "。" + a["summary"].(string)
	}
	cut := func(shortest, longest int) string { return gen.CutQuery(r, texts, shortest, longest) }
	keyword := func() string {
		a := all[r.IntN(len(all))]
		kws := strings.Split(a["keywords"].(string), "、")
		return kws[r.IntN(len(kws))]
	}
	qs := make([]string, nq)
	for i := range qs {
		switch i % 4 {
		case 0:
			qs[i] = cut(2, 2)
		case 1:
			qs[i] = cut(3, 6)
		case 2:
			qs[i] = keyword()
		case 3:
			qs[i] = keyword() + " " + cut(2, 3)
		}
	}
	for _, c := range []struct {
		what string
		sr   func(q string) knowledge.Search
	}{
		{"search, 20 by relevance with highlights", func(q string) knowledge.Search { return knowledge.Search{Text: q} }},
		{"search, 20 by relevance, with category counts", func(q string) knowledge.Search { return knowledge.Search{Text: q, Facets: true} }},
		{"search, 20 by clicks", func(q string) knowledge.Search { return knowledge.Search{Text: q, Sort: knowledge.SortClicks} }},
		{"search, 20 newest", func(q string) knowledge.Search { return knowledge.Search{Text: q, Sort: knowledge.SortUpdated} }},
		{"fuzzy search, 20 by relevance", func(q string) knowledge.Search {
			return knowledge.Search{Text: q, Filter: knowledge.Filter{Fuzzy: true}}
		}},
	} {
		ts, err := timing.Run(len(qs), func(i int) error {
			_, err := s.Search(ctx, c.sr(qs[i]))
			return err
		})
		if err != nil {
			return err
		}
		fmt.Printf("  slowest: %s\n", timing.Slowest(ts, qs, 5))
		ts.Report(c.what)
	}
	prefixes := make([]string, nq)
	for i := range prefixes {
		k := []rune(keyword())
		prefixes[i] = string(k[:min(len(k), 1+i%3)])
	}
	ts, err := timing.Run(len(prefixes), func(i int) error {
		if len(s.Suggest(prefixes[i], 10)) == 0 {
			return fmt.Errorf("no suggestion for %q", prefixes[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	ts.Report("suggestions for 1-3 character prefixes")

	// An editor imports 1,000 articles (-import) from a spreadsheet laid
	// out as the template; they become drafts of the editor's unit.
	header := []any{"标题", "摘要", "正文", "关键字", "业务分类", "知识形式", "所属部门", "生效日期", "失效日期"}
	keys := []string{"title", "summary", "body", "keywords", "topic", "kind", "dept", "effective_from", "expires_at"}
	x := excelize.NewFile()
	if err := x.SetSheetRow("Sheet1", "A1", &header); err != nil {
		return err
	}
	for i, a := range gen.Articles(v, 77, imports, today) {
		row := make([]any, len(keys))
		for j, k := range keys {
			row[j] = a[k]
		}
		if err := x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &row); err != nil {
			return err
		}
	}
	var file bytes.Buffer
	if err := x.Write(&file); err != nil {
		return err
	}
	start = time.Now()
	res, err := s.Import(ctx, editor, &file, knowledge.ImportOptions{})
	if err != nil {
		return err
	}
	if len(res.Problems) > 0 {
		return fmt.Errorf("import problems: %v", res.Problems[:min(3, len(res.Problems))])
	}
	took := time.Since(start)
	fmt.Printf("importing %d articles from XLSX (checked, created as drafts): %s, %.0f articles/s\n", res.Imported, took.Round(10*time.Millisecond), float64(res.Imported)/took.Seconds())
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
