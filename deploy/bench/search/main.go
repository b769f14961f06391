// Command search benchmarks what agents and auditors wait for on a large
// database: full-text search, counts and facets, 1,000-row lists, ticket
// detail, the in-transit hint and exports. It runs on the database of the
// HOTLINE_* environment (fill one with `hotline gen`) through the same
// engine as the server, single client, and prints figures for README.
//
//	HOTLINE_DATA_DIR=/tmp/bench1m hotline gen --tickets 1000000
//	HOTLINE_DATA_DIR=/tmp/bench1m go run ./deploy/bench/search
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/bench/timing"
)

func main() {
	queries := flag.Int("queries", 1000, "full-text queries to run")
	full := flag.Bool("full-export", true, "also export every ticket (takes a while at 1M)")
	exportsOnly := flag.Bool("exports-only", false, "only the exports")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process here")
	flag.StringVar(&keepDir, "keep", "", "keep the export files in this folder, to open them (else they are counted and dropped)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := app.FromEnv()
	if err == nil {
		err = app.WithTools(context.Background(), cfg, app.Options{Demo: true}, log, func(t app.Tools) error {
			return run(t, log, *queries, *full, *exportsOnly)
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(t app.Tools, log *slog.Logger, nq int, full, exportsOnly bool) error {
	ctx := context.Background()
	eng := t.Tickets
	searcher := &ticketsearch.Searcher{Pool: t.Pool, Config: t.Config, Tickets: eng.Store}
	login := func(user string) (*identity.Principal, error) { return t.SignIn(ctx, user, "Hotline@12345") }
	admin, err := login("agent")
	if err != nil {
		return err
	}
	clerk, err := login("clerk")
	if err != nil {
		return err
	}
	var n, minID, maxID int64
	if err := t.Pool.QueryRow(ctx, `SELECT count(*), min(id), max(id) FROM tickets`).Scan(&n, &minID, &maxID); err != nil {
		return err
	}
	fmt.Printf("database: %d tickets\n", n)
	var table, docIdx, facetIdx, callerIdx string
	if err := t.Pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_table_size('ticket_search')), pg_size_pretty(pg_relation_size('ticket_search_doc')),
		pg_size_pretty(pg_relation_size('ticket_search_facets')), pg_size_pretty(pg_relation_size('ticket_search_callers'))`).Scan(&table, &docIdx, &facetIdx, &callerIdx); err != nil {
		return err
	}
	fmt.Printf("index: ticket_search table %s, GIN doc %s, facets %s, callers %s\n", table, docIdx, facetIdx, callerIdx)

	if exportsOnly {
		return exports(ctx, t, searcher, admin, full)
	}
	// Queries: words agents type, places, phrases and substrings cut from
	// random tickets, two-word ANDs.
	r := rand.New(rand.NewPCG(1, 1))
	words := []string{"供暖", "物业", "暖气不热", "噪音", "电梯", "拖欠工资", "路灯", "公交", "停水", "燃气", "烧烤", "占道经营", "入学", "医保",
		"违章建筑", "垃圾", "退费", "井盖", "漏水", "社保", "出租车", "户口", "养老", "培训", "施工", "油烟", "水压", "异味", "停车", "信号灯"}
	places := []string{"赛罕区", "新城区", "回民区", "玉泉区", "大学东街", "昭乌达路", "中山西路", "锡林郭勒南路", "民族小区", "金桥小区", "如意小区", "海拉尔东路", "成吉思汗大街", "托克托县"}
	var qs []string
	randomTicket := func() (ticket.Ticket, error) {
		for {
			tk, err := eng.Store.Get(ctx, admin, minID+r.Int64N(maxID-minID+1))
			if err == nil {
				return tk, nil
			}
		}
	}
	for len(qs) < nq {
		switch len(qs) % 5 {
		case 0:
			qs = append(qs, words[r.IntN(len(words))])
		case 1:
			qs = append(qs, places[r.IntN(len(places))])
		case 2, 3:
			tk, err := randomTicket()
			if err != nil {
				return err
			}
			content := []rune(tk.Fields["content"].(string))
			from := r.IntN(max(len(content)-6, 1))
			q := strings.TrimSpace(string(content[from:min(len(content), from+2+r.IntN(5))]))
			if !fulltext.ParseQuery(q).Empty() {
				qs = append(qs, q)
			}
		case 4:
			qs = append(qs, words[r.IntN(len(words))]+" "+places[r.IntN(len(places))])
		}
	}
	search := func(p *identity.Principal, sort ticketsearch.Sort) func(int) error {
		return func(i int) error {
			_, err := searcher.SearchTickets(ctx, p, ticketsearch.Search{Query: qs[i], First: 20, Sort: sort})
			return err
		}
	}
	for _, c := range []struct {
		what string
		p    *identity.Principal
		sort ticketsearch.Sort
		n    int
	}{
		{"full-text, newest 20 with highlights (agent, all tickets)", admin, ticketsearch.SortNewest, nq},
		{"full-text, newest 20 (clerk of 赛罕区, own scope)", clerk, ticketsearch.SortNewest, nq},
		{"full-text, 20 by relevance", admin, ticketsearch.SortRelevance, min(nq, 200)},
	} {
		ts, err := timing.Run(c.n, search(c.p, c.sort))
		if err != nil {
			return err
		}
		fmt.Printf("  slowest: %s\n", timing.Slowest(ts, qs, 5))
		ts.Report(c.what)
	}
	short := func(i int) string {
		return words[i%len(words)]
	}
	ts, err := timing.Run(100, func(i int) error {
		_, err := searcher.SearchTickets(ctx, admin, ticketsearch.Search{Query: short(i), First: 20})
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("full-text, common 2–4 character words only")
	ts, err = timing.Run(min(nq, 100), func(i int) error {
		_, err := searcher.CountTickets(ctx, admin, ticketsearch.Search{Query: qs[i]}, ticketsearch.CountCap+1)
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("totalCount of a query (counted up to 10,000)")
	ts, err = timing.Run(min(nq, 30), func(i int) error {
		_, err := searcher.CountTickets(ctx, admin, ticketsearch.Search{Query: qs[i]}, 0)
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("exact count of a query")
	ts, err = timing.Run(min(nq, 50), func(i int) error {
		_, err := searcher.FacetTickets(ctx, admin, ticketsearch.Search{Query: qs[i]}, []string{"state", "category", "address.district", "channel"})
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("facets (state, category, district, channel), newest 10,000 matches")

	// Lists of 1,000 rows, the filters auditors use.
	open := true
	year := time.Now().AddDate(-1, 0, 0)
	filters := []ticketsearch.Filter{
		{},
		{Open: &open},
		{Facets: map[string][]string{"category": {"01"}}},
		{Facets: map[string][]string{"address.district": {"150105"}}, CreatedFrom: &year},
		{States: []string{"completed"}, Facets: map[string][]string{"channel": {"微信"}}},
		{Action: &ticketsearch.ActionFilter{Name: "reply", AtLeast: 2}},
	}
	names := []string{"none", "open", "category 城乡建设", "district 赛罕区 last year", "completed via 微信", "replied twice or more"}
	var all timing.Timings
	for f := range filters {
		ts, err = timing.Run(10, func(int) error {
			_, err := searcher.SearchTickets(ctx, admin, ticketsearch.Search{Filter: filters[f], First: 1000})
			return err
		})
		if err != nil {
			return err
		}
		all = append(all, ts...)
		ts.Report("1,000-row list, filter: " + names[f])
	}
	all.Report("1,000-row list, all filters above")

	ts, err = timing.Run(2000, func(int) error {
		_, err := eng.Store.Get(ctx, admin, minID+r.Int64N(maxID-minID+1))
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("ticket detail")

	var phones, addresses []string
	for len(phones) < 500 {
		tk, err := randomTicket()
		if err != nil {
			return err
		}
		phone, _ := tk.Fields["caller_phone"].(string)
		if phone == "" {
			continue
		}
		phones = append(phones, phone)
		// What an agent types: the complex and building of the address
		// (consultations have none).
		address, _ := tk.Fields["address"].(map[string]any)
		detail, _ := address["detail"].(string)
		if i := strings.Index(detail, "号"); i >= 0 {
			rest := []rune(detail[i+len("号"):])
			addresses = append(addresses, string(rest[:min(len(rest), 8)]))
		}
	}
	if len(addresses) == 0 {
		return fmt.Errorf("no ticket of the 500 drawn has an address with a building number (gen's tickets do)")
	}
	ts, err = timing.Run(len(phones), func(i int) error {
		_, err := searcher.InTransit(ctx, admin, phones[i], "", "")
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("in-transit hint by phone")
	ts, err = timing.Run(200, func(i int) error {
		_, err := searcher.InTransit(ctx, admin, phones[i], "", addresses[i%len(addresses)])
		return err
	})
	if err != nil {
		return err
	}
	ts.Report("in-transit hint by phone or address")

	return exports(ctx, t, searcher, admin, full)
}

func exports(ctx context.Context, t app.Tools, searcher *ticketsearch.Searcher, admin *identity.Principal, full bool) error {
	units, err := ticket.AllUnitNames(ctx, t.Pool)
	if err != nil {
		return err
	}
	// About 10,000 tickets: the newest eleven days of a million over three
	// years (all of a smaller database).
	var from time.Time
	if err := t.Pool.QueryRow(ctx, `SELECT created_at FROM tickets ORDER BY id DESC OFFSET LEAST(9999, (SELECT count(*) - 1 FROM tickets)) LIMIT 1`).Scan(&from); err != nil {
		return err
	}
	exports := []struct {
		what   string
		format string
		filter ticketsearch.Filter
	}{
		{"export 10,000 rows to XLSX", export.XLSX, ticketsearch.Filter{CreatedFrom: &from}},
		{"export 10,000 rows to CSV", export.CSV, ticketsearch.Filter{CreatedFrom: &from}},
	}
	if full {
		exports = append(exports, struct {
			what   string
			format string
			filter ticketsearch.Filter
		}{"export every ticket to CSV", export.CSV, ticketsearch.Filter{}}, struct {
			what   string
			format string
			filter ticketsearch.Filter
		}{"export every ticket to XLSX", export.XLSX, ticketsearch.Filter{}})
	}
	for _, x := range exports {
		start := time.Now()
		cw := &countingWriter{}
		var out io.Writer = cw
		if keepDir != "" {
			f, err := os.Create(filepath.Join(keepDir, fmt.Sprintf("%s.%s", strings.ReplaceAll(x.what, " ", "-"), x.format)))
			if err != nil {
				return err
			}
			defer f.Close()
			out = io.MultiWriter(f, cw)
		}
		rows, err := export.Write(ctx, searcher, t.Config.Current(), units, admin, export.Request{Format: x.format, Form: "ticket-register", Filter: x.filter}, out, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%-58s %d rows, %.1f MB, %s\n", x.what, rows, float64(cw.n)/1e6, time.Since(start).Round(10*time.Millisecond))
	}
	return nil
}

// keepDir is where -keep keeps the export files.
var keepDir string

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
