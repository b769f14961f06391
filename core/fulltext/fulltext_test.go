package fulltext_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		in       string
		include  []string
		exclude  []string
		tsquery  string
		contains []string
		misses   []string
	}{
		{in: "供暖", include: []string{"供暖"}, tsquery: "('供暖')",
			contains: []string{"供暖费太高", "集中供暖"}, misses: []string{"供 暖", "暖供"}},
		{in: "暖气不热", include: []string{"暖气不热"}, tsquery: "('暖气' <-> '气不' <-> '不热')",
			contains: []string{"家里暖气不热已经三天"}, misses: []string{"暖气，不热", "暖气很热"}},
		{in: "  物业   电梯 ", include: []string{"物业", "电梯"}, contains: []string{"物业不修电梯"}, misses: []string{"物业不作为"}},
		{in: `"西二环 路"`, include: []string{"西二环", "路"}},
		{in: "噪音 -施工", include: []string{"噪音"}, exclude: []string{"施工"}, tsquery: "('噪音') & !(('施工'))",
			contains: []string{"夜间噪音扰民"}, misses: []string{"夜间施工噪音"}},
		{in: "3号楼", include: []string{"3号楼"}, contains: []string{"13号楼漏水"}, misses: []string{"3 号楼"}},
		{in: "ＷＩＦＩ", include: []string{"wifi"}, contains: []string{"小区WiFi信号差"}},
		{in: "暖", include: []string{"暖"}, tsquery: "'暖':*", contains: []string{"供暖", "暖气"}},
		{in: "-", include: nil},
		{in: "，。！", include: nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			q := fulltext.ParseQuery(tc.in)
			assert.Equal(t, tc.include, q.Include)
			assert.Equal(t, tc.exclude, q.Exclude)
			if tc.tsquery != "" {
				assert.Equal(t, tc.tsquery, q.TSQuery(0))
			}
			for _, s := range tc.contains {
				assert.True(t, q.Contains(s), "should match %q", s)
			}
			for _, s := range tc.misses {
				assert.False(t, q.Contains(s), "should not match %q", s)
			}
		})
	}
}

func TestDocumentKeepsFieldsApart(t *testing.T) {
	var d fulltext.Document
	d.Add("暖气", fulltext.WeightA)
	d.Add("不热", fulltext.WeightD)
	// 暖气 at 2, 气 at 3; a gap; 不热 at 5, 热 at 6: 气不 never forms.
	assert.Equal(t, "'不热':5D '暖气':2A '气':3A '热':6D", d.String())
	assert.False(t, d.Empty())
	assert.True(t, new(fulltext.Document).Empty())
}

func TestHighlight(t *testing.T) {
	q := fulltext.ParseQuery("暖气 <b>")
	assert.Equal(t, "小区<mark>暖气</mark>不热，&lt;<mark>b</mark>&gt;", q.Highlight("小区暖气不热，<b>", 80))
	long := strings.Repeat("一", 100) + "暖气" + strings.Repeat("二", 100)
	frag := q.Highlight(long, 20)
	assert.True(t, strings.HasPrefix(frag, "…") && strings.HasSuffix(frag, "…"), frag)
	assert.Contains(t, frag, "<mark>暖气</mark>")
	assert.Empty(t, q.Highlight("没有命中", 80))
}

// TestPostgreSQLAgreesWithSubstringSearch indexes random mixed text in
// PostgreSQL and checks that every query matches exactly the documents
// brute-force substring search (Query.Contains) matches: two-letter
// terms, phrases, single letters, digits and Latin, exclusions.
func TestPostgreSQLAgreesWithSubstringSearch(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	_, err := pool.Exec(ctx, `CREATE TABLE docs (id int PRIMARY KEY, body text, doc tsvector)`)
	require.NoError(t, err)

	// A small alphabet makes many accidental matches and near misses.
	alphabet := []rune("供暖气不热物业电梯噪音路灯号楼小区西二环，。 0123abcＡＢ")
	r := rand.New(rand.NewPCG(1, 2))
	randText := func(n int) string {
		out := make([]rune, n)
		for i := range out {
			out[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(out)
	}
	var bodies []string
	for i := 0; i < 300; i++ {
		// Two fields: a title and a body, kept apart in the document.
		title, body := randText(r.IntN(12)), randText(r.IntN(80))
		var d fulltext.Document
		d.Add(title, fulltext.WeightA)
		d.Add(body, fulltext.WeightD)
		bodies = append(bodies, title+"\n"+body)
		_, err := pool.Exec(ctx, `INSERT INTO docs VALUES ($1, $2, $3::tsvector)`, i, bodies[i], d.String())
		require.NoError(t, err)
	}
	for i := 0; i < 400; i++ {
		// Queries cut from the text itself, or random.
		var text string
		if i%2 == 0 {
			src := []rune(bodies[r.IntN(len(bodies))])
			if len(src) == 0 {
				continue
			}
			from := r.IntN(len(src))
			text = string(src[from:min(len(src), from+1+r.IntN(4))])
		} else {
			text = randText(1 + r.IntN(4))
		}
		if r.IntN(5) == 0 {
			text += " -" + randText(2)
		}
		q := fulltext.ParseQuery(text)
		if q.Empty() {
			continue
		}
		var want []int
		for id, b := range bodies {
			if q.Contains(b) {
				want = append(want, id)
			}
		}
		rows, err := pool.Query(ctx, `SELECT id FROM docs WHERE doc @@ $1::tsquery ORDER BY id`, q.TSQuery(0))
		require.NoError(t, err, "query %q → %s", text, q.TSQuery(0))
		var got []int
		for rows.Next() {
			var id int
			require.NoError(t, rows.Scan(&id))
			got = append(got, id)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got, "query %q (%s)", text, q.TSQuery(0))
	}
}

func FuzzDocumentIsValidTSVector(f *testing.F) {
	for _, s := range []string{"暖气不热", "a'b\\c", "１２３ＡＢＣ", "", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d fulltext.Document
		d.Add(s, fulltext.WeightD)
		// Whatever the text, its own runs are found in it.
		q := fulltext.ParseQuery(strings.NewReplacer("-", " ", `"`, " ").Replace(s))
		if !q.Empty() && !q.Contains(s) {
			t.Fatalf("query of %q does not match %q", s, s)
		}
		_ = q.Highlight(s, 10)
	})
}
