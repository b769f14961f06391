package ticketsearch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// world is a gentest world as these tests use it.
type world struct {
	g      *gentest.World
	pool   *pgxpool.Pool
	eng    *flow.Engine
	search *ticketsearch.Searcher
}

func (w *world) as(t *testing.T, user string) *identity.Principal { return w.g.As(t, user) }

// corpus is the default configuration with generated tickets, and every
// ticket as brute-force search sees it.
type corpus struct {
	*world
	set     *registry.Set
	tickets map[int64]ticket.Ticket
	text    map[int64]string
}

var genNow = gentest.Now

func newCorpus(t *testing.T, n int, tweak ...func(*gen.Options)) *corpus {
	t.Helper()
	g := gentest.New(t, n, tweak...)
	w := &world{g: g, pool: g.Pool, eng: g.Engine, search: g.Search}
	c := &corpus{world: w, set: g.Set}
	c.load(t)
	return c
}

// load reads every ticket, and the text brute-force search looks in:
// the number and every field the forms mark search or caller name or
// address (addresses with their unit names).
func (c *corpus) load(t *testing.T) {
	ctx := context.Background()
	admin := c.as(t, "admin")
	names, err := ticket.AllUnitNames(ctx, c.pool)
	require.NoError(t, err)
	spec := ticket.SpecOf(c.set)
	var textFields []*form.Field
	textFields = append(textFields, spec.Text...)
	textFields = append(textFields, spec.Caller["name"]...)
	textFields = append(textFields, spec.Caller["address"]...)
	c.tickets, c.text = map[int64]ticket.Ticket{}, map[int64]string{}
	var after int64
	for {
		list, err := c.eng.Store.List(ctx, admin, "", after, 1000)
		require.NoError(t, err)
		if len(list) == 0 {
			break
		}
		for _, tk := range list {
			c.tickets[tk.ID] = tk
			parts := []string{tk.Number}
			// A field's values: the ticket's own, and those of every
			// action's latest input (a reply's result).
			var values []any
			for _, fl := range textFields {
				values = append(values[:0], tk.Fields[fl.Name])
				for _, in := range tk.Inputs {
					values = append(values, in[fl.Name])
				}
				for _, v := range values {
					switch v := v.(type) {
					case string:
						parts = append(parts, v)
					case map[string]any:
						for _, level := range []string{"district", "street", "community"} {
							if code, ok := v[level].(string); ok {
								parts = append(parts, names[code])
							}
						}
						if d, ok := v["detail"].(string); ok {
							parts = append(parts, d)
						}
					}
				}
			}
			c.text[tk.ID] = strings.Join(parts, "\n")
		}
		after = list[len(list)-1].ID
	}
}

// bruteForce is every ticket whose text contains the query.
func (c *corpus) bruteForce(query string, keep func(ticket.Ticket) bool) []int64 {
	q := fulltext.ParseQuery(query)
	var ids []int64
	for id, text := range c.text {
		if q.Contains(text) && (keep == nil || keep(c.tickets[id])) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// searchAll pages through every hit.
func (c *corpus) searchAll(t *testing.T, p *identity.Principal, s ticketsearch.Search) []int64 {
	t.Helper()
	var ids []int64
	s.First = 500
	for {
		hits, err := c.search.SearchTickets(context.Background(), p, s)
		require.NoError(t, err)
		more := len(hits) > s.First
		if more {
			hits = hits[:s.First]
		}
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		if !more {
			break
		}
		if s.Sort == ticketsearch.SortRelevance || s.Sort == ticketsearch.SortDeadline {
			s.After += int64(len(hits)) // an offset
		} else {
			s.After = hits[len(hits)-1].ID
		}
	}
	slices.Sort(ids)
	return ids
}

func TestSearchFindsWhatSubstringSearchFinds(t *testing.T) {
	c := newCorpus(t, 3000)
	admin := c.as(t, "admin")
	queries := []string{"供暖", "物业", "暖气不热", "噪音", "电梯", "拖欠工资", "路灯", "公交", "停水", "燃气",
		"大学东街", "赛罕区", "民族社区", "号楼", "3单元", "供暖 -物业", `"暖气 不热"`}
	// Phrases cut from the tickets themselves: 2 to 6 characters anywhere,
	// mixed Chinese, digits and Latin as they come.
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, 0, len(c.text))
	for id := range c.text {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// 40 in all: each is searched three ways over small windows, about a
	// second under the race detector on CI's two cores.
	for len(queries) < 40 {
		text := []rune(c.text[ids[r.IntN(len(ids))]])
		from := r.IntN(len(text))
		q := strings.TrimSpace(string(text[from:min(len(text), from+2+r.IntN(5))]))
		if !fulltext.ParseQuery(q).Empty() {
			queries = append(queries, q)
		}
	}
	found := 0
	// Small windows too, so that a page is filled across several.
	defer func(w []int64) { *ticketsearch.MatchWindows = w }(*ticketsearch.MatchWindows)
	for i, q := range queries {
		*ticketsearch.MatchWindows = [][]int64{{2, 10, 0}, {1, 3, 0}}[i%2]
		want := c.bruteForce(q, nil)
		got := c.searchAll(t, admin, ticketsearch.Search{Query: q})
		require.Equal(t, want, got, "query %q", q)
		ranked := c.searchAll(t, admin, ticketsearch.Search{Query: q, Sort: ticketsearch.SortRelevance})
		if len(want) <= ticketsearch.RelevancePool {
			require.Equal(t, want, ranked, "ranked query %q", q)
		}
		n, err := c.search.CountTickets(context.Background(), admin, ticketsearch.Search{Query: q}, 0)
		require.NoError(t, err)
		require.Equal(t, int64(len(want)), n, "count of %q", q)
		if len(want) > 0 {
			found++
		}
	}
	// The queries are not all empty: most find something.
	assert.Greater(t, found, len(queries)*3/4)
}

func TestSearchKeepsToTheUsersScope(t *testing.T) {
	c := newCorpus(t, 1500)
	ctx := context.Background()
	// Some tickets dispatched to 赛罕区 and a street of it.
	agent, dispatcher := c.as(t, "agent"), c.as(t, "dispatcher")
	for i, unit := range []string{"150105", "150105001", "150105", "150102", "150105001001", "zjj"} {
		tk, err := c.eng.Create(ctx, agent, "ticket", "register", map[string]any{"caller_phone": "13904710000", "type": "投诉",
			"title": fmt.Sprintf("物业供暖问题%d", i), "content": "小区物业不管供暖问题。"})
		require.NoError(t, err)
		_, err = c.eng.Perform(ctx, dispatcher, tk.ID, "dispatch", map[string]any{"unit": unit}, nil)
		require.NoError(t, err)
	}
	c.load(t)
	// A clerk of 赛罕区 sees tickets held by units under it, not others.
	clerk := c.as(t, "clerk")
	var unitPath string
	require.NoError(t, c.pool.QueryRow(context.Background(), `SELECT path FROM units WHERE code = '150105'`).Scan(&unitPath))
	// Both ways of limiting to a scope: as a list of ids, and as a
	// subquery for scopes too large for a list.
	defer func(n int) { *ticketsearch.SmallScope = n }(*ticketsearch.SmallScope)
	for _, small := range []int{5000, 0} {
		*ticketsearch.SmallScope = small
		for _, q := range []string{"", "供暖", "物业"} {
			want := c.bruteForce(q, func(tk ticket.Ticket) bool { return strings.HasPrefix(tk.ScopePath, unitPath) })
			got := c.searchAll(t, clerk, ticketsearch.Search{Query: q})
			require.Equal(t, want, got, "query %q, small scopes up to %d", q, small)
			if q == "" {
				require.NotEmpty(t, want, "the scope holds tickets")
			}
		}
	}
}

func TestSearchFiltersAndFacets(t *testing.T) {
	c := newCorpus(t, 1500)
	ctx := context.Background()
	admin := c.as(t, "admin")
	from, to := genNow.AddDate(-1, 0, 0), genNow.AddDate(0, -1, 0)
	open := true
	inFacet := func(name, value string) func(ticket.Ticket) bool {
		return func(tk ticket.Ticket) bool {
			switch name {
			case "state":
				return tk.State == value
			case "address.district":
				a, _ := tk.Fields["address"].(map[string]any)
				return a["district"] == value
			}
			v, _ := tk.Fields[name].(string)
			return v == value || strings.HasPrefix(v, value) && name == "category"
		}
	}
	for _, tc := range []struct {
		name   string
		filter ticketsearch.Filter
		keep   func(ticket.Ticket) bool
	}{
		{"category tree", ticketsearch.Filter{Facets: map[string][]string{"category": {"01"}}}, inFacet("category", "01")},
		{"district", ticketsearch.Filter{Facets: map[string][]string{"address.district": {"150105"}}}, inFacet("address.district", "150105")},
		{"state", ticketsearch.Filter{States: []string{"dept_handling", "final_review"}}, func(tk ticket.Ticket) bool {
			return tk.State == "dept_handling" || tk.State == "final_review"
		}},
		{"time range", ticketsearch.Filter{CreatedFrom: &from, CreatedTo: &to}, func(tk ticket.Ticket) bool {
			return !tk.CreatedAt.Before(from) && tk.CreatedAt.Before(to)
		}},
		{"open", ticketsearch.Filter{Open: &open}, func(tk ticket.Ticket) bool { return tk.ClosedAt == nil }},
		{"channel", ticketsearch.Filter{Facets: map[string][]string{"channel": {"微信", "网站"}}}, func(tk ticket.Ticket) bool {
			return tk.Fields["channel"] == "微信" || tk.Fields["channel"] == "网站"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, q := range []string{"", "供暖"} {
				want := c.bruteForce(q, tc.keep)
				got := c.searchAll(t, admin, ticketsearch.Search{Query: q, Filter: tc.filter})
				require.Equal(t, want, got, "query %q", q)
				require.NotEmpty(t, c.bruteForce("", tc.keep), "the filter keeps some tickets")
			}
		})
	}

	// Facet counts agree with counting by hand.
	facets, err := c.search.FacetTickets(ctx, admin, ticketsearch.Search{Query: "物业"}, []string{"state", "channel", "address.district"})
	require.NoError(t, err)
	require.Len(t, facets, 3)
	for _, f := range facets {
		require.NotEmpty(t, f.Values, f.Name)
		for _, v := range f.Values {
			assert.Equal(t, int64(len(c.bruteForce("物业", inFacet(f.Name, v.Value)))), v.Count, "%s=%s", f.Name, v.Value)
			assert.NotEmpty(t, v.Label)
		}
	}
	assert.NotEqual(t, facets[0].Values[0].Value, facets[0].Values[0].Label, "states are shown by their labels")

	// The auditor's filters: who took an action, and how often.
	dispatcher := ""
	for _, tk := range c.tickets {
		if tk.Counts["dispatch"] > 0 {
			events, err := c.eng.Events(ctx, tk.ID)
			require.NoError(t, err)
			for _, ev := range events {
				if ev.Action == "dispatch" {
					dispatcher = ev.Actor
				}
			}
			break
		}
	}
	require.NotEmpty(t, dispatcher)
	got := c.searchAll(t, admin, ticketsearch.Search{Filter: ticketsearch.Filter{Action: &ticketsearch.ActionFilter{Name: "dispatch", Actor: dispatcher}}})
	var want []int64
	for id, tk := range c.tickets {
		events, err := c.eng.Events(ctx, id)
		require.NoError(t, err)
		for _, ev := range events {
			if ev.Action == "dispatch" && ev.Actor == dispatcher {
				want = append(want, tk.ID)
				break
			}
		}
	}
	slices.Sort(want)
	assert.Equal(t, want, got)
	twice := c.searchAll(t, admin, ticketsearch.Search{Filter: ticketsearch.Filter{Action: &ticketsearch.ActionFilter{Name: "reply", AtLeast: 2}}})
	assert.Equal(t, c.bruteForce("", func(tk ticket.Ticket) bool { return tk.Counts["reply"] >= 2 }), twice)

	// Bad filters name the field.
	_, err = c.search.SearchTickets(ctx, admin, ticketsearch.Search{Filter: ticketsearch.Filter{Facets: map[string][]string{"colour": {"red"}}}})
	assert.ErrorContains(t, err, "colour")
	_, err = c.search.SearchTickets(ctx, admin, ticketsearch.Search{Filter: ticketsearch.Filter{CreatedFrom: &to, CreatedTo: &from}})
	assert.ErrorContains(t, err, "结束须晚于开始")
}

func TestNewTicketIsFoundAndInTransitAtOnce(t *testing.T) {
	c := newCorpus(t, 300)
	ctx := context.Background()
	agent := c.as(t, "agent")
	admin := c.as(t, "admin")
	phone := "13904711234"
	input := map[string]any{"caller": "乌云其其格", "caller_phone": phone, "type": "投诉", "category": "0103",
		"title": "锦绣社区暖气片漏水", "content": "来电人反映家中暖气片漏水，请求供热公司上门维修。",
		"address": map[string]any{"district": "150105", "street": "150105001", "community": "150105001002", "detail": "大学东街锦绣小区5号楼"}}
	tk, err := c.eng.Create(ctx, agent, "ticket", "register", input)
	require.NoError(t, err)

	hits, err := c.search.SearchTickets(ctx, admin, ticketsearch.Search{Query: "暖气片漏水", First: 10})
	require.NoError(t, err)
	require.Len(t, hits, 1)
	assert.Equal(t, tk.ID, hits[0].ID)
	require.NotEmpty(t, hits[0].Highlights)
	assert.Contains(t, hits[0].Highlights[0].Fragment, "<mark>暖气片漏水</mark>")

	for _, tc := range []struct {
		phone, name, address string
		matched              []string
	}{
		{phone: "139-0471-1234", matched: []string{"phone"}},
		{name: "乌云其其格", matched: []string{"name"}},
		{address: "锦绣小区5号楼", matched: []string{"address"}},
		{address: "锦绣社区", matched: []string{"address"}},
		{phone: phone, name: "乌云其其格", matched: []string{"phone", "name"}},
	} {
		found, err := c.search.InTransit(ctx, agent, tc.phone, tc.name, tc.address)
		require.NoError(t, err)
		var mine *ticketsearch.InTransitHit
		for i := range found {
			if found[i].Ticket.ID == tk.ID {
				mine = &found[i]
			}
		}
		require.NotNil(t, mine, "%+v", tc)
		assert.Equal(t, tc.matched, mine.MatchedBy, "%+v", tc)
		for _, h := range found {
			assert.Nil(t, h.Ticket.ClosedAt, "in transit means open")
		}
	}
	_, err = c.search.InTransit(ctx, agent, "", "", "")
	assert.Error(t, err)

	// Closed, it is history, not in transit.
	_, err = c.eng.Perform(ctx, agent, tk.ID, "withdraw", map[string]any{"reason": "来电人已自行解决"}, nil)
	require.NoError(t, err)
	found, err := c.search.InTransit(ctx, agent, phone, "", "")
	require.NoError(t, err)
	for _, h := range found {
		assert.NotEqual(t, tk.ID, h.Ticket.ID)
	}
	history := c.searchAll(t, agent, ticketsearch.Search{Filter: ticketsearch.Filter{Phone: phone}})
	assert.Contains(t, history, tk.ID)
}

func TestReindexRebuildsWhatTheFormsSay(t *testing.T) {
	c := newCorpus(t, 400)
	ctx := context.Background()
	admin := c.as(t, "admin")
	before := c.searchAll(t, admin, ticketsearch.Search{Query: "物业"})
	require.NotEmpty(t, before)

	stale, err := c.eng.Store.IndexStale(ctx)
	require.NoError(t, err)
	assert.False(t, stale, "generated into an empty database under the running spec")
	// An older build: other fields, and the rows say nothing.
	_, err = c.pool.Exec(ctx, `UPDATE search_index_state SET fingerprint = 'v0'`)
	require.NoError(t, err)
	stale, err = c.eng.Store.IndexStale(ctx)
	require.NoError(t, err)
	assert.True(t, stale)
	_, err = c.pool.Exec(ctx, `UPDATE ticket_search SET doc = ''::tsvector, facets = '{}'`)
	require.NoError(t, err)
	assert.Empty(t, c.searchAll(t, admin, ticketsearch.Search{Query: "物业"}))

	done := 0
	n, err := c.eng.Store.Reindex(ctx, 128, func(d int) { done = d })
	require.NoError(t, err)
	assert.Equal(t, len(c.tickets), n)
	assert.Equal(t, n, done)
	assert.Equal(t, before, c.searchAll(t, admin, ticketsearch.Search{Query: "物业"}))
	stale, err = c.eng.Store.IndexStale(ctx)
	require.NoError(t, err)
	assert.False(t, stale)
}

func TestGeneratedTicketsAreValidAndRepeatable(t *testing.T) {
	c := newCorpus(t, 500)
	ctx := context.Background()
	fm, ok := registry.Model[*form.Form](c.set, form.Kind, "ticket-register")
	require.True(t, ok)
	lookup := form.DBLookup{Q: c.pool}
	var states = map[string]int{}
	callers := map[string]int{}
	for _, tk := range c.tickets {
		reg := map[string]any{}
		for _, fl := range fm.Fields {
			if v, ok := tk.Fields[fl.Name]; ok {
				reg[fl.Name] = v
			}
		}
		// A chat waiting in 全媒体待受理 holds only what its channel knew;
		// the agent completes the registration when accepting it.
		_, err := fm.Check(ctx, reg, form.Options{Lookup: lookup, Now: genNow, Partial: tk.State == "omni_pending"})
		require.NoError(t, err, "ticket %s: %v", tk.Number, reg)
		states[tk.State]++
		callers[fmt.Sprint(tk.Fields["caller_phone"])]++
	}
	assert.Greater(t, len(states), 5, "tickets are spread through the flow: %v", states)
	repeat := 0
	for _, n := range callers {
		if n > 1 {
			repeat++
		}
	}
	assert.Greater(t, repeat, 10, "some callers call again")

	// The same seed on another database gives the same tickets, loaded in
	// bulk there: the search indexes are dropped and built again.
	built := false
	other := newCorpus(t, 500, func(o *gen.Options) { o.Bulk, o.Built = true, func(time.Duration) { built = true } })
	assert.True(t, built)
	var gin int
	require.NoError(t, other.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'ticket_search' AND indexdef LIKE '%USING gin%'`).Scan(&gin))
	assert.Equal(t, 3, gin)
	admin := c.as(t, "admin")
	assert.Len(t, other.searchAll(t, other.as(t, "admin"), ticketsearch.Search{Query: "物业"}), len(c.searchAll(t, admin, ticketsearch.Search{Query: "物业"})))
	for id, tk := range c.tickets {
		o, ok := other.tickets[id-minID(c.tickets)+minID(other.tickets)]
		require.True(t, ok)
		assert.Equal(t, tk.Number, o.Number)
		assert.Equal(t, tk.Fields, o.Fields)
		assert.Equal(t, tk.State, o.State)
	}
}

func minID(m map[int64]ticket.Ticket) int64 {
	first := true
	var out int64
	for id := range m {
		if first || id < out {
			out, first = id, false
		}
	}
	return out
}

func TestEachTicketPicksFieldsAsStored(t *testing.T) {
	c := newCorpus(t, 200)
	ctx := context.Background()
	agent := c.as(t, "agent")
	admin := c.as(t, "admin")
	// Strings PostgreSQL escapes (quotes, backslashes, new lines) take the
	// decoder's path; plain ones do not.
	tricky, err := c.eng.Create(ctx, agent, "ticket", "register", map[string]any{"caller": `王"二"`, "caller_phone": "13904711235", "type": "投诉", "category": "0103",
		"title": `C:\路径 "引号"`, "content": "第一行\n第二行\t制表",
		"address": map[string]any{"district": "150105", "street": "150105001", "detail": "大学东街"}})
	require.NoError(t, err)
	c.tickets[tricky.ID] = tricky

	picks := []string{"title", "content", "caller", "address", "confidential", "attachments", "no_such_field"}
	seen := 0
	require.NoError(t, c.search.EachTicket(ctx, admin, ticketsearch.Search{}, picks, func(got ticket.Ticket) error {
		seen++
		want, ok := c.tickets[got.ID]
		require.True(t, ok, "ticket %d", got.ID)
		wantFields := map[string]any{}
		for _, k := range picks {
			if v, ok := want.Fields[k]; ok {
				wantFields[k] = v
			}
		}
		assert.Equal(t, wantFields, got.Fields, "ticket %s", got.Number)
		assert.Equal(t, want.Number, got.Number)
		assert.Equal(t, want.State, got.State)
		return nil
	}))
	assert.Equal(t, len(c.tickets), seen)
	assert.Equal(t, `C:\路径 "引号"`, c.tickets[tricky.ID].Fields["title"], "the stored value round-trips")
}

func TestNewestMatchesAreLookedForInTheirIDBucket(t *testing.T) {
	c := newCorpus(t, 300)
	ctx := context.Background()
	admin := c.as(t, "admin")
	const size = 64 // this package's test bucket size

	// Every index row carries the bucket of its own id, in its document
	// and in its facets.
	var wrong int
	require.NoError(t, c.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_search
		WHERE NOT (facets @> ARRAY['#bucket=' || (ticket_id / $1)] AND doc @@ ('''#b' || (ticket_id / $1) || '''')::tsquery)`, size).Scan(&wrong))
	assert.Zero(t, wrong)

	// Searching one window and no fallback finds exactly the matches in
	// that bucket: ids 192-255 below After 256.
	old := *ticketsearch.MatchWindows
	*ticketsearch.MatchWindows = []int64{1}
	t.Cleanup(func() { *ticketsearch.MatchWindows = old })
	inBucket := func(ids []int64) []int64 {
		var out []int64
		for _, id := range ids {
			if id/size == 3 {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	var all []int64
	for id := range c.tickets {
		all = append(all, id)
	}
	require.Len(t, inBucket(all), size, "the corpus fills bucket 3")
	search := func(s ticketsearch.Search, want []int64) {
		t.Helper()
		require.GreaterOrEqual(t, len(want), 2)
		s.After, s.First = 4*size, len(want)-1 // SearchTickets asks for one more
		hits, err := c.search.SearchTickets(ctx, admin, s)
		require.NoError(t, err)
		var got []int64
		for _, h := range hits {
			got = append(got, h.ID)
		}
		slices.Sort(got)
		assert.Equal(t, want, got)
	}
	search(ticketsearch.Search{Filter: ticketsearch.Filter{Facets: map[string][]string{ticket.FacetFlow: {"ticket"}}}}, inBucket(all))
	for _, q := range []string{"反映", "小区", "供暖", "物业"} {
		want := inBucket(c.bruteForce(q, nil))
		if len(want) >= 2 && len(want) < size {
			search(ticketsearch.Search{Query: q}, want)
			return
		}
	}
	t.Fatal("no query word matches some of bucket 3")
}
