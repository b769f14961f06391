package form_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
)

// xss are attacks from the OWASP filter evasion cheat sheet and pasted
// office HTML, as an article body might carry them.
var xss = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=//xss.rocks/.j></SCRIPT>`,
	`<img src=x onerror=alert(1)>`,
	`<IMG SRC="javascript:alert('XSS');">`,
	`<IMG SRC=JaVaScRiPt:alert('XSS')>`,
	`<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>`,
	`<IMG SRC="jav&#x09;ascript:alert('XSS');">`,
	`<a href="javascript:alert(1)">点我</a>`,
	`<a href=" &#14;  javascript:alert(1)">点我</a>`,
	`<svg/onload=alert(1)>`,
	`<body onload=alert(1)>`,
	`<iframe src="https://evil.example"></iframe>`,
	`<object data="x.swf"></object><embed src="x.swf">`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<p style="width: expression(alert(1))">x</p>`,
	`<style>@import 'http://evil.example/x.css';</style>`,
	`<form action="https://evil.example"><input name=p></form>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<<SCRIPT>alert("XSS");//<</SCRIPT>`,
	`<TABLE BACKGROUND="javascript:alert('XSS')">`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
}

var unsafe = []string{"<script", "onerror", "onload", "javascript:", "<iframe", "<svg", "<object", "<embed",
	"<style", "<form", "<input", "<meta", "<base", "expression(", "data:", "background"}

func TestRichTextIsStoredSanitized(t *testing.T) {
	set, problems := load(t, `kind: form
name: article
label: 知识
fields:
  - {name: body, label: 正文, type: richtext, required: true, min: 4}
`)
	require.Empty(t, problems)
	f, ok := registry.Model[*form.Form](set, form.Kind, "article")
	require.True(t, ok)
	check := func(in string) (string, error) {
		res, err := f.Check(context.Background(), map[string]any{"body": in}, form.Options{})
		if err != nil {
			return "", err
		}
		return res.Values["body"].(string), nil
	}
	for _, attack := range xss {
		t.Run(attack, func(t *testing.T) {
			out, err := check("<p>供暖收费标准说明</p>" + attack)
			require.NoError(t, err)
			for _, bad := range unsafe {
				assert.NotContains(t, strings.ToLower(out), bad)
			}
			assert.Contains(t, out, "<p>供暖收费标准说明</p>", "the safe part is kept")
		})
	}

	// What an editor formats survives: headings, lists, tables, links,
	// images from attachments, alignment.
	good := `<h2>办理条件</h2><ol><li>本市户籍</li><li>年满 18 周岁</li></ol>` +
		`<table><tbody><tr><td>收费标准</td><td>每平方米 22.5 元</td></tr></tbody></table>` +
		`<p style="text-align: center">详见<a href="https://www.huhhot.gov.cn/zwgk/">市政府网站</a></p>` +
		`<img src="/attachments/3f2a" alt="流程图">`
	out, err := check(good)
	require.NoError(t, err)
	for _, keep := range []string{"<h2>办理条件</h2>", "<li>本市户籍</li>", "<td>每平方米 22.5 元</td>", `style="text-align: center"`,
		`href="https://www.huhhot.gov.cn/zwgk/"`, `rel="nofollow`, `<img src="/attachments/3f2a" alt="流程图">`} {
		assert.Contains(t, out, keep)
	}
	assert.Equal(t, "办理条件\n本市户籍\n年满 18 周岁\n收费标准每平方米 22.5 元\n详见市政府网站", form.PlainText(out))

	// Length rules count the text, not the markup; an article that is
	// only markup is refused.
	_, err = check(`<p><b></b><script>正文</script></p>`)
	var es form.Errors
	require.ErrorAs(t, err, &es)
	assert.Equal(t, "body", es[0].Field)
	assert.Contains(t, es[0].Error(), "正文")
}

// FuzzSanitizedRichTextHasNoScript parses what the sanitiser lets through
// as a browser would and looks for anything that could run.
func FuzzSanitizedRichTextHasNoScript(f *testing.F) {
	for _, s := range xss {
		f.Add(s)
	}
	banned := []string{"script", "iframe", "style", "object", "embed", "svg", "math", "form", "input", "meta", "base", "link"}
	f.Fuzz(func(t *testing.T, in string) {
		out := form.SanitizeHTML(in)
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if slices.Contains(banned, tok.Data) {
				t.Fatalf("<%s> survived in %q (from %q)", tok.Data, out, in)
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "vbscript:") {
					t.Fatalf("attribute %s=%q survived in %q (from %q)", a.Key, a.Val, out, in)
				}
			}
		}
	})
}
