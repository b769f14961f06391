package knowledge_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/attachment"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// today is the generator's date, midnight UTC as dates are kept.
var today = time.Date(gentest.Now.Year(), gentest.Now.Month(), gentest.Now.Day(), 0, 0, 0, 0, time.UTC)

type kb struct {
	w        *gentest.World
	s        *knowledge.Service
	dir      string
	files    filestore.Dir            // shared by the nodes
	articles map[int64]map[string]any // as generated, by id
}

// newKB publishes n generated articles through the knowledge flow and
// opens a node's knowledge base on them.
func newKB(t *testing.T, n int) *kb {
	t.Helper()
	ctx := context.Background()
	w := gentest.New(t, 0)
	v, err := gen.LoadKnowledgeVocabulary()
	require.NoError(t, err)
	arts := gen.Articles(v, 3, n, today)
	ids, err := gen.PublishArticles(ctx, w.Engine, w.As(t, "kbeditor"), w.As(t, "kbreviewer"), arts)
	require.NoError(t, err)
	k := &kb{w: w, dir: t.TempDir(), files: filestore.Dir{Root: t.TempDir()}, articles: map[int64]map[string]any{}}
	for i, id := range ids {
		k.articles[id] = arts[i]
	}
	k.s = k.open(t, k.dir)
	return k
}

// open opens a node's knowledge base with its index in dir.
func (k *kb) open(t *testing.T, dir string) *knowledge.Service {
	t.Helper()
	s := &knowledge.Service{Pool: k.w.Pool, Config: k.w.Runtime, Tickets: k.w.Engine, Dir: dir, Files: k.files, Now: func() time.Time { return gentest.Now }}
	require.NoError(t, s.Open(context.Background()))
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// inEffect reports whether a generated article is served today.
func inEffect(a map[string]any) bool {
	from, _ := a["effective_from"].(string)
	until, _ := a["expires_at"].(string)
	d := today.Format(time.DateOnly)
	return (from == "" || from <= d) && (until == "" || until >= d)
}

// text is what search looks in: title, keywords, summary, body.
func text(a map[string]any) string {
	return strings.Join([]string{a["title"].(string), a["keywords"].(string), a["summary"].(string), form.PlainText(a["body"].(string))}, "\n")
}

func (k *kb) bruteForce(q string, includeExpired bool) []int64 {
	pq := fulltext.ParseQuery(q)
	var out []int64
	for id, a := range k.articles {
		if (includeExpired || inEffect(a)) && pq.Contains(text(a)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (k *kb) searchAll(t *testing.T, sr knowledge.Search) []int64 {
	t.Helper()
	var out []int64
	sr.First = 200
	for {
		res, err := k.s.Search(context.Background(), sr)
		require.NoError(t, err)
		for _, h := range res.Hits {
			out = append(out, h.Article.ID)
		}
		sr.Offset += len(res.Hits)
		if len(res.Hits) == 0 || sr.Offset >= res.Total {
			require.Equal(t, res.Total, len(out), "total counts every hit")
			break
		}
	}
	slices.Sort(out)
	return out
}

// queries draws what agents type from the articles: keywords, two to six
// characters cut from titles and bodies, single characters, two words.
func (k *kb) queries(n int) []string {
	r := rand.New(rand.NewPCG(11, 12))
	var texts []string
	for _, id := range slices.Sorted(maps.Keys(k.articles)) {
		texts = append(texts, text(k.articles[id]))
	}
	cut := func(shortest, longest int) string { return gen.CutQuery(r, texts, shortest, longest) }
	var out []string
	for i := range n {
		switch i % 6 {
		case 0, 1:
			out = append(out, cut(2, 2))
		case 2:
			out = append(out, cut(3, 6))
		case 3:
			out = append(out, cut(1, 1))
		case 4:
			out = append(out, cut(2, 3)+" "+cut(2, 3))
		case 5:
			out = append(out, cut(2, 4)+" -"+cut(2, 2))
		}
	}
	return out
}

func TestSearchFindsWhatSubstringSearchFinds(t *testing.T) {
	k := newKB(t, 300)
	empty := 0
	for _, q := range k.queries(100) {
		want := k.bruteForce(q, false)
		got := k.searchAll(t, knowledge.Search{Text: q})
		if len(want) == 0 {
			empty++
		}
		require.Equal(t, want, got, "query %q", q)
	}
	assert.Less(t, empty, 20, "most queries find something, so the comparison means something")

	// Search within results (二次检索) is the AND of both searches.
	got := k.searchAll(t, knowledge.Search{Text: "办理", Filter: knowledge.Filter{Within: []string{"供暖"}}})
	assert.Equal(t, k.bruteForce("供暖 办理", false), got)
	// Expired and not yet effective articles are found only on request.
	assert.Equal(t, k.bruteForce("供暖", true), k.searchAll(t, knowledge.Search{Text: "供暖", Filter: knowledge.Filter{IncludeExpired: true}}))
	assert.NotEqual(t, k.bruteForce("供暖", true), k.bruteForce("供暖", false), "the corpus has articles out of effect")
}

func TestFuzzySearchRanksTheCloseMatchFirst(t *testing.T) {
	k := newKB(t, 200)
	// A query no article holds word for word still finds articles sharing
	// its words, the one with most of them first.
	res, err := k.s.Search(context.Background(), knowledge.Search{Text: "社保卡丢了怎么补办", Filter: knowledge.Filter{Fuzzy: true}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Hits)
	assert.Empty(t, k.bruteForce("社保卡丢了怎么补办", false))
	top := res.Hits[0].Article
	assert.Contains(t, text(k.articles[top.ID]), "社保卡")
}

func TestFiltersFacetsAndSorts(t *testing.T) {
	k := newKB(t, 200)
	ctx := context.Background()
	// A tree category takes in the options below it.
	byTopic := k.searchAll(t, knowledge.Search{Filter: knowledge.Filter{Facets: map[string][]string{"topic": {"01"}}}})
	var want []int64
	for id, a := range k.articles {
		if inEffect(a) && strings.HasPrefix(a["topic"].(string), "01") {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	assert.Equal(t, want, byTopic)

	res, err := k.s.Search(ctx, knowledge.Search{Text: "办理", Facets: true})
	require.NoError(t, err)
	counts := map[string]int{}
	units := 0
	for _, f := range res.Facets {
		counts[f.Field+"="+f.Value] = f.Count
		if f.Field == "topic" && f.Value == "0202" {
			assert.Equal(t, "社保卡", f.Label)
		}
		// A unit facet's value is a unit code; its label is the unit's name.
		if f.Field == "dept" {
			units++
			assert.NotEqual(t, f.Value, f.Label, "unit %s is labelled with its name", f.Value)
			assert.NotEmpty(t, f.Label)
		}
	}
	assert.Positive(t, units, "the articles have departments to facet by")
	wantCounts := map[string]int{}
	for _, id := range k.bruteForce("办理", false) {
		a := k.articles[id]
		wantCounts["kind="+a["kind"].(string)]++
		wantCounts["topic="+a["topic"].(string)]++
		wantCounts["topic="+a["topic"].(string)[:2]]++
	}
	for key, n := range wantCounts {
		assert.Equal(t, n, counts[key], key)
	}

	_, err = k.s.Search(ctx, knowledge.Search{Filter: knowledge.Filter{Facets: map[string][]string{"topc": {"01"}}}})
	assert.ErrorContains(t, err, `"topic"`, "an unknown category names the near one")

	// Newest first when nothing is typed.
	res, err = k.s.Search(ctx, knowledge.Search{First: 50})
	require.NoError(t, err)
	for i := 1; i < len(res.Hits); i++ {
		assert.False(t, res.Hits[i].Article.PublishedAt.After(res.Hits[i-1].Article.PublishedAt))
	}

	// Clicks: the article opened most comes first, and leads the hot list.
	ids := k.bruteForce("供暖", false)
	require.GreaterOrEqual(t, len(ids), 3)
	popular := ids[len(ids)-1]
	for range 5 {
		_, err := k.s.Get(ctx, popular, true)
		require.NoError(t, err)
	}
	_, err = k.s.Get(ctx, ids[0], true)
	require.NoError(t, err)
	res, err = k.s.Search(ctx, knowledge.Search{Text: "供暖", Sort: knowledge.SortClicks})
	require.NoError(t, err)
	assert.Equal(t, popular, res.Hits[0].Article.ID)
	require.NoError(t, k.s.FlushClicks(ctx))
	hot, err := k.s.Hot(ctx, 7, 5)
	require.NoError(t, err)
	require.Len(t, hot, 2)
	assert.Equal(t, popular, hot[0].ID)
	assert.Equal(t, int64(5), hot[0].Clicks)
	a, err := k.s.Get(ctx, popular, false)
	require.NoError(t, err)
	assert.Equal(t, int64(5), a.Clicks, "clicks are written to the article too")
}

func TestSuggestionsCompleteWhatIsTyped(t *testing.T) {
	k := newKB(t, 300)
	keywords := map[string]bool{}
	for _, a := range k.articles {
		if inEffect(a) {
			for _, kw := range strings.Split(a["keywords"].(string), "、") {
				keywords[kw] = true
			}
		}
	}
	for _, prefix := range []string{"供", "社保", "公积金", "落户", "身份", "物业费"} {
		got := k.s.Suggest(prefix, 10)
		require.NotEmpty(t, got, prefix)
		sawContains := false
		texts := map[string]bool{}
		for _, sg := range got {
			assert.False(t, texts[sg.Text], "%q offered twice", sg.Text)
			texts[sg.Text] = true
			assert.Contains(t, sg.Text, prefix)
			if !strings.HasPrefix(sg.Text, prefix) {
				sawContains = true
			} else {
				assert.False(t, sawContains, "%q: completions starting with the prefix come first", prefix)
			}
		}
		// Every keyword starting with the prefix is offered when they fit.
		var starting []string
		for kw := range keywords {
			if strings.HasPrefix(kw, prefix) {
				starting = append(starting, kw)
			}
		}
		if len(starting) <= 3 {
			var texts []string
			for _, sg := range got {
				texts = append(texts, sg.Text)
			}
			for _, kw := range starting {
				assert.Contains(t, texts, kw, prefix)
			}
		}
	}
	assert.Empty(t, k.s.Suggest("火星移民", 10))
}

func TestRevisionArchiveAndAnotherNode(t *testing.T) {
	k := newKB(t, 30)
	ctx := context.Background()
	editor, reviewer := k.w.As(t, "kbeditor"), k.w.As(t, "kbreviewer")
	var id int64
	for _, candidate := range slices.Sorted(maps.Keys(k.articles)) {
		if inEffect(k.articles[candidate]) {
			id = candidate
			break
		}
	}
	require.NotZero(t, id)
	other := k.open(t, t.TempDir()) // a second node, with its own index

	// A revision under way keeps serving the published version.
	_, err := k.w.Engine.Perform(ctx, editor, id, "revise", nil, nil)
	require.NoError(t, err)
	revised := map[string]any{}
	for key, v := range k.articles[id] {
		revised[key] = v
	}
	revised["body"] = `<p>自 2027 年起执行新的居民阶梯水价标准。</p><script>alert(1)</script>`
	_, err = k.w.Engine.Perform(ctx, editor, id, "save", revised, nil)
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)
	assert.Empty(t, k.searchAll(t, knowledge.Search{Text: "阶梯水价"}))

	_, err = k.w.Engine.Perform(ctx, editor, id, "submit", nil, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, reviewer, id, "approve", map[string]any{"opinion": "同意"}, nil)
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{id}, k.searchAll(t, knowledge.Search{Text: "阶梯水价"}))
	a, err := k.s.Get(ctx, id, false)
	require.NoError(t, err)
	assert.Equal(t, 2, a.Version)
	assert.NotContains(t, a.Fields["body"], "script", "stored sanitised")
	assert.NotContains(t, a.Fields, "opinion", "a reviewer's opinion is not published")
	versions, err := k.s.Versions(ctx, id)
	require.NoError(t, err)
	require.Len(t, versions, 2)
	assert.Equal(t, 2, versions[0].Version)
	changes, unified, err := k.s.Diff(ctx, id, 1, 2)
	require.NoError(t, err)
	require.Len(t, changes, 1, "only the body changed")
	assert.Equal(t, "正文", changes[0].Label)
	assert.Equal(t, "自 2027 年起执行新的居民阶梯水价标准。", changes[0].After)
	assert.Equal(t, form.PlainText(k.articles[id]["body"].(string)), changes[0].Before)
	assert.Contains(t, unified, "+自 2027 年起执行新的居民阶梯水价标准。")
	_, _, err = k.s.Diff(ctx, id, 1, 3)
	assert.ErrorContains(t, err, "没有版本 3")

	// The other node catches up by itself.
	n, err := other.CatchUp(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	res, err := other.Search(ctx, knowledge.Search{Text: "阶梯水价"})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Total)

	// Archived, it is found nowhere; restored, it is back.
	_, err = k.w.Engine.Perform(ctx, reviewer, id, "archive", nil, nil)
	require.NoError(t, err)
	for _, s := range []*knowledge.Service{k.s, other} {
		_, err = s.CatchUp(ctx)
		require.NoError(t, err)
		res, err := s.Search(ctx, knowledge.Search{Text: "阶梯水价"})
		require.NoError(t, err)
		assert.Zero(t, res.Total)
	}
	_, err = k.s.Get(ctx, id, false)
	assert.Error(t, err)
	_, err = k.w.Engine.Perform(ctx, reviewer, id, "restore", nil, nil)
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{id}, k.searchAll(t, knowledge.Search{Text: "阶梯水价"}))
}

func TestIndexSurvivesRestartAndRebuilds(t *testing.T) {
	k := newKB(t, 40)
	ctx := context.Background()
	before := k.searchAll(t, knowledge.Search{})
	require.NotEmpty(t, before)
	require.NoError(t, k.s.Close(ctx))

	// Published while this node was down.
	more := gen.Articles(mustVocabulary(t), 99, 3, today)
	for i := range more {
		more[i]["title"] = fmt.Sprintf("停机期间发布的知识 %d", i)
		delete(more[i], "expires_at")
		more[i]["effective_from"] = "2020-01-01"
	}
	ids, err := gen.PublishArticles(ctx, k.w.Engine, k.w.As(t, "kbeditor"), k.w.As(t, "kbreviewer"), more)
	require.NoError(t, err)

	k.s = k.open(t, k.dir)
	after := k.searchAll(t, knowledge.Search{})
	assert.Equal(t, len(before)+3, len(after))
	assert.Len(t, k.searchAll(t, knowledge.Search{Text: "停机期间"}), 3)

	n, err := k.s.Rebuild(ctx)
	require.NoError(t, err)
	assert.Positive(t, n)
	assert.Equal(t, after, k.searchAll(t, knowledge.Search{}))
	assert.Len(t, ids, 3)
}

func mustVocabulary(t *testing.T) *gen.KnowledgeVocabulary {
	v, err := gen.LoadKnowledgeVocabulary()
	require.NoError(t, err)
	return v
}

func TestRatingsFollowTheRatingForm(t *testing.T) {
	k := newKB(t, 20)
	ctx := context.Background()
	ids := k.searchAll(t, knowledge.Search{})
	require.GreaterOrEqual(t, len(ids), 2)
	id := ids[0]
	agent, clerk := k.w.As(t, "agent"), k.w.As(t, "clerk")

	// The form's criteria are checked, and named when wrong.
	_, err := k.s.Rate(ctx, agent, id, map[string]any{"accuracy": 6.0, "completeness": 4.0, "timeliness": 4.0, "usability": 4.0})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "准确性")
	_, err = k.s.Rate(ctx, agent, id, map[string]any{"accuracy": 5.0})
	assert.ErrorContains(t, err, "完整性")

	a, err := k.s.Rate(ctx, agent, id, map[string]any{"accuracy": 5.0, "completeness": 4.0, "timeliness": 4.0, "usability": 3.0, "comment": "收费标准写得清楚"})
	require.NoError(t, err)
	assert.InDelta(t, 4.0, a.Rating, 1e-9)
	assert.Equal(t, 1, a.Ratings)
	a, err = k.s.Rate(ctx, clerk, id, map[string]any{"accuracy": 2.0, "completeness": 2.0, "timeliness": 2.0, "usability": 2.0})
	require.NoError(t, err)
	assert.InDelta(t, 3.0, a.Rating, 1e-9)
	// Rating again replaces one's own rating.
	a, err = k.s.Rate(ctx, clerk, id, map[string]any{"accuracy": 4.0, "completeness": 4.0, "timeliness": 4.0, "usability": 4.0})
	require.NoError(t, err)
	assert.InDelta(t, 4.0, a.Rating, 1e-9)
	assert.Equal(t, 2, a.Ratings)

	ratings, err := k.s.Ratings(ctx, id)
	require.NoError(t, err)
	require.Len(t, ratings, 2)
	var comments []any
	for _, r := range ratings {
		comments = append(comments, r.Input["comment"])
	}
	assert.Contains(t, comments, "收费标准写得清楚")

	// Sorting by rating puts the rated article first.
	res, err := k.s.Search(ctx, knowledge.Search{Sort: knowledge.SortRating, First: 1})
	require.NoError(t, err)
	assert.Equal(t, id, res.Hits[0].Article.ID)

	_, err = k.s.Rate(ctx, agent, 999999, map[string]any{"accuracy": 5.0, "completeness": 5.0, "timeliness": 5.0, "usability": 5.0})
	assert.ErrorContains(t, err, "不存在")
}

func TestFavoritesInFolders(t *testing.T) {
	k := newKB(t, 20)
	ctx := context.Background()
	ids := k.searchAll(t, knowledge.Search{})
	require.GreaterOrEqual(t, len(ids), 3)
	agent, other := k.w.As(t, "agent"), k.w.As(t, "dispatcher")

	heating, err := k.s.CreateFolder(ctx, agent, nil, "供暖")
	require.NoError(t, err)
	fees, err := k.s.CreateFolder(ctx, agent, &heating.ID, "收费")
	require.NoError(t, err)
	_, err = k.s.CreateFolder(ctx, agent, nil, "供暖")
	assert.ErrorContains(t, err, "已有同名的收藏夹")
	_, err = k.s.CreateFolder(ctx, other, &heating.ID, "借用")
	assert.ErrorContains(t, err, "不存在", "a folder of someone else")

	require.NoError(t, k.s.Favor(ctx, agent, ids[0], &fees.ID))
	require.NoError(t, k.s.Favor(ctx, agent, ids[1], &heating.ID))
	require.NoError(t, k.s.Favor(ctx, agent, ids[2], nil))
	assert.ErrorContains(t, k.s.Favor(ctx, other, ids[0], &fees.ID), "不存在")

	folders, err := k.s.Folders(ctx, agent)
	require.NoError(t, err)
	require.Len(t, folders, 2)
	assert.Equal(t, "供暖", folders[0].Name)
	assert.Equal(t, heating.ID, *folders[1].Parent)

	inFees, err := k.s.Favorites(ctx, agent, &fees.ID)
	require.NoError(t, err)
	require.Len(t, inFees, 1)
	assert.Equal(t, ids[0], inFees[0].Article.ID)
	all, err := k.s.Favorites(ctx, agent, nil)
	require.NoError(t, err)
	assert.Len(t, all, 3)
	mine, err := k.s.Favorites(ctx, other, nil)
	require.NoError(t, err)
	assert.Empty(t, mine)

	// Deleting a folder deletes the folders inside; their favourites stay,
	// at the top.
	require.NoError(t, k.s.DeleteFolder(ctx, agent, heating.ID))
	folders, err = k.s.Folders(ctx, agent)
	require.NoError(t, err)
	assert.Empty(t, folders)
	all, err = k.s.Favorites(ctx, agent, nil)
	require.NoError(t, err)
	require.Len(t, all, 3)
	for _, f := range all {
		assert.Nil(t, f.Folder)
	}
	require.NoError(t, k.s.Unfavor(ctx, agent, ids[2]))
	all, err = k.s.Favorites(ctx, agent, nil)
	require.NoError(t, err)
	assert.Len(t, all, 2)
}

func TestDirectAnswerCitesArticles(t *testing.T) {
	k := newKB(t, 10)
	ctx := context.Background()
	ids := k.searchAll(t, knowledge.Search{})
	require.GreaterOrEqual(t, len(ids), 2)
	agent := k.w.As(t, "agent")
	input := func(cited string) map[string]any {
		return map[string]any{"caller_phone": "13804711234", "title": "咨询供暖收费", "content": "询问今年供暖费标准", "type": "咨询",
			"answer": "已按知识库答复收费标准", "knowledge": cited}
	}
	tickets := func() int {
		var n int
		require.NoError(t, k.w.Pool.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE flow = 'ticket'`).Scan(&n))
		return n
	}
	before := tickets()

	// Citing an article that does not exist refuses the whole answer.
	_, err := k.w.Engine.Create(ctx, agent, "ticket", "answer_directly", input(fmt.Sprintf("%d, 999999", ids[0])))
	require.ErrorContains(t, err, "引用的知识 999999 不存在或已下架")
	assert.Equal(t, before, tickets(), "nothing stored")

	tk, err := k.w.Engine.Create(ctx, agent, "ticket", "answer_directly", input(fmt.Sprintf("%d", ids[0])))
	require.NoError(t, err)
	assert.Equal(t, "completed", tk.State)
	cs, err := k.s.Citations(ctx, agent, tk.ID)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, ids[0], cs[0].Article.ID)
	assert.Equal(t, 1, cs[0].Version)
	assert.Equal(t, "agent", cs[0].CitedBy)

	// Another article cited afterwards, by the flow's cite action.
	_, err = k.w.Engine.Perform(ctx, agent, tk.ID, "cite_knowledge", map[string]any{"knowledge": fmt.Sprintf("%d", ids[1])}, nil)
	require.NoError(t, err)
	cs, err = k.s.Citations(ctx, agent, tk.ID)
	require.NoError(t, err)
	require.Len(t, cs, 2)

	// A clerk who cannot see the ticket cannot see what it cites.
	_, err = k.s.Citations(ctx, k.w.As(t, "clerk.xincheng"), tk.ID)
	assert.Error(t, err)
}

// sheet writes rows (the first is the header) as an XLSX file.
func sheet(t *testing.T, rows [][]any) *bytes.Buffer {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		require.NoError(t, f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r))
	}
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return &buf
}

func TestImportFromTheTemplate(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	editor := k.w.As(t, "kbeditor.zjj")

	var tpl bytes.Buffer
	require.NoError(t, k.s.Template(&tpl))
	f, err := excelize.OpenReader(&tpl)
	require.NoError(t, err)
	header, err := f.GetRows("知识")
	require.NoError(t, err)
	require.Len(t, header, 1)
	assert.Equal(t, []string{"标题*", "摘要", "正文*", "关键字", "业务分类*", "知识形式*", "所属部门", "生效日期", "失效日期", "相关知识", "修订说明", "来源"}, header[0])
	options, err := f.GetRows("选项说明")
	require.NoError(t, err)
	assert.Contains(t, options, []string{"业务分类", "0101", "供暖供热"})
	require.NoError(t, f.Close())

	good := func(title string) []any {
		return []any{title, "", "<p>居民供暖费按建筑面积每平方米 22.5 元收取。</p>", "供暖、收费", "住房城建/供暖供热", "政策法规", "呼和浩特市住房和城乡建设局", "2026-01-01", "", ""}
	}
	rows := [][]any{
		{"标题*", "摘要", "正文*", "关键字", "业务分类*", "知识形式*", "所属部门", "生效日期", "失效日期", "修订说明"},
		good("供暖收费标准"), good("供暖期起止时间"),
		{"", "", "<p>缺少标题的一行知识正文。</p>", "", "0101", "政策法规"},
		good("空置房供暖费"),
		{"物业费标准", "", "<p>普通住宅物业服务费实行政府指导价。</p>", "", "0102", "小道消息"},
		{}, // a blank line is skipped
		{"业委会成立", "", "<p>成立业主委员会须由街道办事处指导。</p>", "", "0102", "办事指南", "", "2026-05-01", "2026-01-01"},
	}
	// A file with errors imports nothing, and says where they are.
	res, err := k.s.Import(ctx, editor, sheet(t, rows), knowledge.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, 6, res.Rows)
	assert.Zero(t, res.Imported)
	var where []string
	for _, p := range res.Problems {
		where = append(where, fmt.Sprintf("%d %s %s", p.Row, p.Column, p.Message))
	}
	assert.Equal(t, []string{"4 A 标题: 必填", "6 F 知识形式: “小道消息”不是可选项", "8 I 失效日期: 失效日期须晚于生效日期"}, where)
	var n int
	require.NoError(t, k.w.Pool.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE flow = 'kb_article'`).Scan(&n))
	assert.Zero(t, n)

	// Or the valid rows only, sent for review.
	res, err = k.s.Import(ctx, editor, sheet(t, rows), knowledge.ImportOptions{ValidOnly: true, Then: "submit"})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Imported)
	for _, id := range res.IDs {
		tk, err := k.w.Engine.Store.Get(ctx, editor, id)
		require.NoError(t, err)
		assert.Equal(t, "reviewing", tk.State)
		assert.Equal(t, "zjj", tk.HolderUnit.Code, "drafts of the importing editor's unit")
		assert.Equal(t, "0101", tk.Fields["topic"])
		assert.Equal(t, "zjj", tk.Fields["dept"])
	}

	// A wrong header is reported before any row.
	res, err = k.s.Import(ctx, editor, sheet(t, [][]any{{"标题", "正文内容"}, {"x", "y"}}), knowledge.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	assert.Equal(t, "B", res.Problems[0].Column)
	assert.Contains(t, res.Problems[0].Message, "未知的列“正文内容”")
	_, err = k.s.Import(ctx, editor, strings.NewReader("not a spreadsheet"), knowledge.ImportOptions{})
	assert.ErrorContains(t, err, "XLSX")
}

func TestImportRunsAsAJobWithProgress(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	users := map[string]*identity.Principal{"editor": k.w.As(t, "kbeditor.zjj"), "other": k.w.As(t, "kbeditor")}
	k.s.Node = "node-a"
	mux := http.NewServeMux()
	k.s.Handlers(mux, func(r *http.Request) (*identity.Principal, error) { return users[r.Header.Get("X-Test-User")], nil })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	rows := [][]any{{"标题*", "正文*", "业务分类*", "知识形式*"}}
	for i := range 40 {
		rows = append(rows, []any{fmt.Sprintf("供暖收费标准第%d条", i+1), "<p>居民供暖费按建筑面积收取。</p>", "0101", "政策法规"})
	}
	rows = append(rows, []any{"", "<p>缺少标题的一行。</p>", "0101", "政策法规"})
	do := func(method, path, user string, body io.Reader, contentType string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, srv.URL+path, body)
		require.NoError(t, err)
		req.Header.Set("X-Test-User", user)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	upload := func(query string) knowledge.ImportJob {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", "知识.xlsx")
		require.NoError(t, err)
		_, err = io.Copy(fw, sheet(t, rows))
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		resp, b := do("POST", "/knowledge/import"+query, "editor", &body, mw.FormDataContentType())
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
		var job knowledge.ImportJob
		require.NoError(t, json.Unmarshal(b, &job))
		assert.Equal(t, "/knowledge/imports/"+strconv.FormatInt(job.ID, 10), resp.Header.Get("Location"))
		k.s.WaitImports()
		return job
	}
	get := func(id int64, user string) (int, knowledge.ImportJob) {
		resp, b := do("GET", "/knowledge/imports/"+strconv.FormatInt(id, 10), user, nil, "")
		var job knowledge.ImportJob
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.Unmarshal(b, &job))
		}
		return resp.StatusCode, job
	}

	// A file with an error imports nothing; the job says where.
	started := upload("")
	assert.Equal(t, "running", started.State)
	code, job := get(started.ID, "editor")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "done", job.State)
	assert.Equal(t, "知识.xlsx", job.FileName)
	require.NotNil(t, job.Result)
	assert.Equal(t, 41, job.Result.Rows)
	assert.Zero(t, job.Imported)
	// Row 42 has two problems (no title, a body under 10 characters), both
	// reported at once.
	require.Len(t, job.Result.Problems, 2)
	assert.Equal(t, 42, job.Result.Problems[0].Row)
	assert.Equal(t, 42, job.Result.Problems[1].Row)

	// The valid rows only: every one written, the count kept with the job.
	job = upload("?validOnly=true&then=submit")
	code, job = get(job.ID, "editor")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "done", job.State)
	assert.Equal(t, "writing", job.Phase, "the last phase reached")
	assert.Equal(t, 40, job.Imported)
	assert.Equal(t, job.Total, job.Done)
	assert.Len(t, job.Result.IDs, 40)
	var reviewing int
	require.NoError(t, k.w.Pool.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE id = ANY($1) AND state = 'reviewing'`, job.Result.IDs).Scan(&reviewing))
	assert.Equal(t, 40, reviewing)

	// Only its owner sees a job; a wrong action is refused before any job.
	code, _ = get(job.ID, "other")
	assert.Equal(t, http.StatusNotFound, code)
	resp, b := do("POST", "/knowledge/import?then=publish", "editor", strings.NewReader("--x--"), "multipart/form-data; boundary=x")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))

	// A job running when its node stopped is marked failed at the next start.
	var stuck int64
	require.NoError(t, k.w.Pool.QueryRow(ctx, `INSERT INTO kb_import_jobs (user_id, file_name, options, node, phase, total, done, imported)
		VALUES ($1, 'a.xlsx', '{}', 'node-a', 'writing', 100, 30, 30) RETURNING id`, users["editor"].UserID).Scan(&stuck))
	stuckFile := "knowledge-imports/" + strconv.FormatInt(stuck, 10)
	require.NoError(t, k.files.Put(ctx, stuckFile, strings.NewReader("PK")))
	again := &knowledge.Service{Pool: k.w.Pool, Config: k.w.Runtime, Tickets: k.w.Engine, Dir: t.TempDir(), Files: k.files, Node: "node-a"}
	require.NoError(t, again.Open(ctx))
	require.NoError(t, again.Close(ctx))
	code, job = get(stuck, "editor")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "failed", job.State)
	require.NotNil(t, job.Error)
	assert.Contains(t, *job.Error, "已导入 30 条")
	has, err := k.files.Has(ctx, stuckFile)
	require.NoError(t, err)
	assert.False(t, has, "the interrupted job's file is deleted with it")
	left, err := os.ReadDir(filepath.Join(k.files.Root, "knowledge-imports"))
	require.NoError(t, err)
	assert.Empty(t, left, "a finished job's file is deleted: its outcome is in its row")
}

func TestRelatedArticles(t *testing.T) {
	k := newKB(t, 60)
	ctx := context.Background()
	ids := k.searchAll(t, knowledge.Search{Text: "社保卡"})
	require.GreaterOrEqual(t, len(ids), 3)
	others := k.searchAll(t, knowledge.Search{Text: "落户"})
	require.NotEmpty(t, others)
	editor, reviewer := k.w.As(t, "kbeditor"), k.w.As(t, "kbreviewer")

	// An editor links an article about 落户 to one about 社保卡.
	a := map[string]any{}
	for key, v := range k.articles[ids[0]] {
		a[key] = v
	}
	a["related"] = fmt.Sprintf("%d", others[0])
	_, err := k.w.Engine.Perform(ctx, editor, ids[0], "revise", nil, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, editor, ids[0], "save", a, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, editor, ids[0], "submit", nil, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, reviewer, ids[0], "approve", nil, nil)
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)

	art, err := k.s.Get(ctx, ids[0], false)
	require.NoError(t, err)
	related, err := k.s.Related(ctx, art, 4)
	require.NoError(t, err)
	require.Len(t, related, 4)
	assert.Equal(t, others[0], related[0].ID, "the linked article first")
	for _, r := range related {
		assert.NotEqual(t, ids[0], r.ID, "never itself")
	}
	for _, r := range related[1:] {
		assert.Contains(t, text(k.articles[r.ID]), "社保", "then articles like it")
	}
}

func TestImportExternalKnowledge(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	editor, reviewer := k.w.As(t, "kbeditor"), k.w.As(t, "kbreviewer")
	opts := knowledge.ImportOptions{Save: "save", Revise: "revise"}
	file := func(body string, extra ...string) *strings.Reader {
		articles := []string{
			`{"id": "zw-1", "fields": {"title": "社保卡补办", "body": "` + body + `", "keywords": ["社保卡", "补办"], "topic": "社会保障/社保卡", "kind": "办事指南", "dept": "呼和浩特市人力资源和社会保障局"}}`,
			`{"id": "zw-2", "fields": {"title": "公积金提取", "body": "<p>无房职工租房可提取住房公积金。</p>", "topic": "0401", "kind": "办事指南"}}`,
		}
		articles = append(articles, extra...)
		return strings.NewReader(`{"source": "内蒙古政务服务知识库", "articles": [` + strings.Join(articles, ",") + `]}`)
	}
	body := "<p>社保卡遗失可在合作银行网点办理补卡。</p>"

	// A file with a problem imports nothing unless asked.
	bad := `{"id": "zw-3", "fields": {"title": "落户", "body": "<p>落户政策说明文字。</p>", "topic": "0301", "kind": "办事指南", "colour": "红"}}`
	res, err := k.s.ImportExternal(ctx, editor, file(body, bad), opts)
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	assert.Equal(t, 3, res.Problems[0].Row)
	assert.Equal(t, "colour", res.Problems[0].Column)
	assert.Zero(t, res.Imported)

	res, err = k.s.ImportExternal(ctx, editor, file(body), opts)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	require.Equal(t, 2, res.Imported)
	tk, err := k.w.Engine.Store.Get(ctx, editor, res.IDs[0])
	require.NoError(t, err)
	assert.Equal(t, "draft", tk.State)
	assert.Equal(t, "内蒙古政务服务知识库 #zw-1", tk.Fields["source"])
	assert.Equal(t, "0202", tk.Fields["topic"])
	assert.Equal(t, "rsj", tk.Fields["dept"])
	assert.Equal(t, "社保卡、补办", tk.Fields["keywords"])

	// The same file again changes nothing.
	res, err = k.s.ImportExternal(ctx, editor, file(body), opts)
	require.NoError(t, err)
	assert.Zero(t, res.Imported)

	// Published, then changed at the source: reopened, saved, sent for review.
	id := tk.ID
	_, err = k.w.Engine.Perform(ctx, editor, id, "submit", nil, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, reviewer, id, "approve", nil, nil)
	require.NoError(t, err)
	opts.Then = "submit"
	res, err = k.s.ImportExternal(ctx, editor, file("<p>社保卡遗失可在蒙速办 App 申请补卡，邮寄到家。</p>"), opts)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Equal(t, []int64{id}, res.IDs, "only the changed article")
	tk, err = k.w.Engine.Store.Get(ctx, editor, id)
	require.NoError(t, err)
	assert.Equal(t, "reviewing", tk.State)
	assert.Contains(t, tk.Fields["body"], "邮寄到家")

	_, err = k.s.ImportExternal(ctx, editor, strings.NewReader(`{"articles": []}`), opts)
	assert.ErrorContains(t, err, "来源")
}

// docx is a Word document holding paragraphs.
func docx(t *testing.T, paragraphs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("[Content_Types].xml")
	require.NoError(t, err)
	_, _ = w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`))
	w, err = zw.Create("word/document.xml")
	require.NoError(t, err)
	var body strings.Builder
	for _, p := range paragraphs {
		body.WriteString(`<w:p><w:r><w:t>` + p + `</w:t></w:r></w:p>`)
	}
	_, _ = w.Write([]byte(`<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() + `</w:body></w:document>`))
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// textPDF is a one-page PDF whose text layer is text, written the way
// office suites write Chinese: a composite font (Identity-H) whose glyph ids
// map to characters through a ToUnicode CMap.
func textPDF(t *testing.T, text string) []byte {
	t.Helper()
	var glyphs, cmap strings.Builder
	ids := map[rune]int{}
	for _, r := range text {
		if _, ok := ids[r]; !ok {
			ids[r] = len(ids) + 1
			fmt.Fprintf(&cmap, "<%04X> <%04X>\n", ids[r], r)
		}
		fmt.Fprintf(&glyphs, "%04X", ids[r])
	}
	toUnicode := "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Test def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" +
		fmt.Sprintf("%d beginbfchar\n%sendbfchar\n", len(ids), cmap.String()) +
		"endcmap\nCMapName currentdict /CMap defineresource pop\nend end"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		stream("BT /F1 12 Tf 72 700 Td <" + glyphs.String() + "> Tj ET"),
		"<< /Type /Font /Subtype /Type0 /BaseFont /NotoSansCJK /Encoding /Identity-H /ToUnicode 6 0 R >>",
		stream(toUnicode),
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return out.Bytes()
}

func stream(content string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
}

func TestArticleFilesAreSearchedAndReadableByAll(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	editor, reviewer := k.w.As(t, "kbeditor.zjj"), k.w.As(t, "kbreviewer")
	dir := t.TempDir()
	files := &attachment.Service{Pool: k.w.Pool, Files: filestore.Dir{Root: dir}, TempDir: filepath.Join(dir, "in"), MaxBytes: 1 << 20,
		CanSee: k.s.AttachmentPublished}
	k.s.Files = files.Files

	book := excelize.NewFile()
	require.NoError(t, book.SetSheetRow("Sheet1", "A1", &[]any{"小区", "热价"}))
	require.NoError(t, book.SetSheetRow("Sheet1", "A2", &[]any{"锦绣小区", "二十二元五角"}))
	var xlsx bytes.Buffer
	require.NoError(t, book.Write(&xlsx))
	upload := func(name string, data []byte) string {
		a, err := files.Upload(ctx, editor, name, bytes.NewReader(data))
		require.NoError(t, err, name)
		return a.ID
	}
	ids := []any{
		upload("供热管理办法.docx", docx(t, "第一条 为规范城市供热管理", "第二条 热用户应按时缴纳采暖费")),
		upload("热价表.xlsx", xlsx.Bytes()),
		upload("说明.txt", []byte("报停须在十月一日前申请")),
		upload("收费标准.pdf", textPDF(t, "居民供热收费标准每平方米二十二元")),
		upload("扫描件.pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")),
	}
	tk, err := k.w.Engine.Create(ctx, editor, "kb_article", "create", map[string]any{"title": "供热管理办法解读",
		"body": "<p>本市供热管理办法的要点说明。</p>", "topic": "0101", "kind": "政策法规", "attachments": ids})
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, editor, tk.ID, "submit", nil, nil)
	require.NoError(t, err)
	_, err = k.w.Engine.Perform(ctx, reviewer, tk.ID, "approve", nil, nil)
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)

	for _, q := range []string{"规范城市供热", "二十二元五角", "十月一日前", "每平方米二十二元"} {
		assert.Equal(t, []int64{tk.ID}, k.searchAll(t, knowledge.Search{Text: q}), "text of a file: %s", q)
	}
	list, err := k.s.FilesOf(ctx, tk.ID)
	require.NoError(t, err)
	require.Len(t, list, 5)
	extracted := map[string]bool{}
	for _, f := range list {
		extracted[f.Name] = f.TextExtracted
		if !f.TextExtracted {
			assert.Contains(t, f.Reason, "PDF 文件无法读取", f.Name)
		}
	}
	assert.Equal(t, map[string]bool{"供热管理办法.docx": true, "热价表.xlsx": true, "说明.txt": true, "收费标准.pdf": true, "扫描件.pdf": false}, extracted,
		"a broken PDF is kept and marked as not extracted")

	// A clerk of another unit may download the files of a published article.
	_, err = files.Get(ctx, k.w.As(t, "clerk.xincheng"), ids[0].(string))
	assert.NoError(t, err)
}

func TestForeverValidArticlesAndImportWithoutAClock(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	art := gen.Articles(mustVocabulary(t), 8, 1, today)[0]
	art["title"], art["effective_from"], art["expires_at"] = "永久有效的办事指南", "1949-10-01", "2999-12-31"
	_, err := gen.PublishArticles(ctx, k.w.Engine, k.w.As(t, "kbeditor"), k.w.As(t, "kbreviewer"), []map[string]any{art})
	require.NoError(t, err)
	_, err = k.s.CatchUp(ctx)
	require.NoError(t, err)
	assert.Len(t, k.searchAll(t, knowledge.Search{Text: "永久有效"}), 1, "dates beyond the index's range still mean always in effect")

	// A service that was never opened (hotline kb import) has a clock.
	cli := &knowledge.Service{Pool: k.w.Pool, Config: k.w.Runtime, Tickets: k.w.Engine}
	res, err := cli.ImportExternal(ctx, k.w.As(t, "kbeditor"), strings.NewReader(`{"source": "测试", "articles": [{"id": "1", "fields": {"title": "导入", "body": "<p>命令行导入的知识正文。</p>", "topic": "0101", "kind": "办事指南"}}]}`),
		knowledge.ImportOptions{Save: "save", Revise: "revise"})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Imported)
}

func TestArticlesStayOutOfTicketSearchUnlessAskedFor(t *testing.T) {
	k := newKB(t, 30)
	ctx := context.Background()
	agent := k.w.As(t, "agent")
	hits, err := k.w.Search.SearchTickets(ctx, agent, ticketsearch.Search{Query: "办理", First: 100})
	require.NoError(t, err)
	for _, h := range hits {
		assert.NotEqual(t, "kb_article", h.Flow, "the flow is separate")
	}
	named := ticketsearch.Search{Query: "办理", First: 100, Filter: ticketsearch.Filter{Facets: map[string][]string{ticket.FacetFlow: {"kb_article"}}}}
	hits, err = k.w.Search.SearchTickets(ctx, k.w.As(t, "kbreviewer"), named)
	require.NoError(t, err)
	assert.Equal(t, k.bruteForce("办理", true), sortedIDs(hits), "named, its tickets are found")
	hits, err = k.w.Search.SearchTickets(ctx, agent, named)
	require.NoError(t, err)
	assert.Empty(t, hits, "an agent reads articles through knowledge search, not their tickets")
}

// An editor's drafts are the knowledge team's: an agent whose role sees
// every work order, and an editor of another unit, are told the draft does
// not exist, in the detail and in searches naming the article flow; the
// author's unit and the reviewers see it.
func TestDraftsAreSeenByTheirUnitsEditorsAndReviewersOnly(t *testing.T) {
	k := newKB(t, 0)
	ctx := context.Background()
	draft, err := k.w.Engine.Create(ctx, k.w.As(t, "kbeditor.zjj"), "kb_article", "create", map[string]any{
		"title": "住建局内部草稿：老旧小区改造补贴", "body": "<p>尚未审核的老旧小区改造补贴标准和申请条件</p>", "topic": "0101", "kind": "政策法规"})
	require.NoError(t, err)
	named := ticketsearch.Search{Query: "老旧小区改造补贴", First: 10, Filter: ticketsearch.Filter{Facets: map[string][]string{ticket.FacetFlow: {"kb_article"}}}}
	for _, tc := range []struct {
		user string
		sees bool
	}{
		{"kbeditor.zjj", true},
		{"kbreviewer", true},
		{"agent", false},
		{"kbeditor", false}, // an editor of the centre, whose agent role sees every work order
		{"dispatcher", false},
	} {
		p := k.w.As(t, tc.user)
		_, err := k.w.Engine.Store.Get(ctx, p, draft.ID)
		if tc.sees {
			assert.NoError(t, err, tc.user)
		} else {
			ge, ok := gql.AsError(err)
			require.True(t, ok, "%s: %v", tc.user, err)
			assert.Equal(t, gql.NotFound, ge.Code, tc.user)
		}
		hits, err := k.w.Search.SearchTickets(ctx, p, named)
		require.NoError(t, err)
		assert.Equal(t, tc.sees, slices.ContainsFunc(hits, func(h ticketsearch.Hit) bool { return h.ID == draft.ID }), tc.user)
	}
}

func sortedIDs(hits []ticketsearch.Hit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	slices.Sort(out)
	return out
}
