package form

import (
	"html"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// RichText is formatted text with images (a knowledge article's body): HTML
// that is sanitised when checked, so what is stored is already safe to show.
const RichText = "richtext"

// defaultRichTextMax bounds a rich text's HTML, in characters.
const defaultRichTextMax = 200_000

var (
	richPolicyOnce sync.Once
	richPolicy     *bluemonday.Policy
	plainPolicy    = bluemonday.StrictPolicy()
)

// richTextPolicy is what rich text may hold: the formatting of user
// generated content (headings, lists, tables, links, emphasis) and images
// from the web or from the platform's own attachments. Scripts, styles,
// event handlers, frames, forms and javascript: URLs are stripped.
func richTextPolicy() *bluemonday.Policy {
	richPolicyOnce.Do(func() {
		p := bluemonday.UGCPolicy()
		p.AllowRelativeURLs(true)
		p.AllowURLSchemes("http", "https", "mailto", "tel")
		// Pasted Word text keeps its alignment.
		p.AllowStyles("text-align").MatchingEnum("left", "right", "center", "justify").Globally()
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		richPolicy = p
	})
	return richPolicy
}

// SanitizeHTML returns html with everything unsafe removed.
func SanitizeHTML(s string) string { return strings.TrimSpace(richTextPolicy().Sanitize(s)) }

var blockEnd = regexp.MustCompile(`(?i)</(p|div|h[1-6]|li|tr|blockquote|pre)>|<br\s*/?>`)

// PlainText is the text of an HTML fragment, for search and previews:
// block ends become new lines so words of two paragraphs are not joined.
func PlainText(s string) string {
	s = blockEnd.ReplaceAllString(s, "$0\n")
	return strings.TrimSpace(html.UnescapeString(plainPolicy.Sanitize(s)))
}
