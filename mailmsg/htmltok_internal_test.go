package mailmsg

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	"golang.org/x/net/html"
)

// htmlSamples are the HTML parts of the corpora, and HTML made to reach
// the corners of the tokenizer: raw text elements, comments of every
// shape, bogus comments and doctypes, attributes without quotes or values,
// duplicate attributes, tags cut short by the end of the input.
func htmlSamples(tb testing.TB) []string {
	tb.Helper()
	samples := []string{
		"", "<", "<<a>", "a<", "a </", "</", "</>x", "</ x>y", "<? pi ?>t", "<!>t", "<!->t", "<!-", "<!--",
		"<!---->x", "<!-->x", "<!--->x", "<!-- a -- b --!>x", "<!-- a --!", "<!-- --!-->y", "<!-- a ---!x -->z",
		"<!DOCTYPE html>x", "<!doctype\r\nhtml>y", "<!DOCTYP", "<!DOCTYPE", "<![CDATA[ x ]]>y",
		"<p>a &amp; b &lt;c&gt; &nbsp;&copy &#169; &#x41;&#0;&notin;</p>", "a\r\nb\rc\n\rd<br\r\n/>e",
		"<div hidden>no</div>yes", "<div style=\"display: none\">no</div>yes", "<span STYLE='Visibility:Hidden'>no</span>yes",
		"<div style=\"color:red\" style=\"display:none\">dup</div>", "<div style=\"a&amp;b\">x</div>", "<div style=\"display&#58;none\">no</div>yes",
		"<a href=\"x?a=1&amp;b=2\" hidden>no</a>yes", "<a href=\"x?a=1&amp;b=2\">link</a> text", "<img src=a.png alt=x/>t",
		"<a href=/>t</a>", "<a href=x/ >t</a>", "<br/>", "<br / >", "<a =b c= d e = 'f' g=\"h\"i>t", "<a b='c", "<a b=\"c\" ",
		"<a b=c", "<a b=", "<a b", "<a", "<a/", "<A HREF=X>T</A>", "<p/x>t", "<p a=b/>t",
		"<style>p{}</style>t", "<STYLE>a</Style >b", "<style>a</stylex></style>b", "<style>a</sty", "<style>", "<style/>t</style>u",
		"<title>a &amp; b</title>t", "<textarea>&lt;x&gt;</textarea>t", "<xmp>&amp;<b></xmp>t", "<iframe>x</iframe>",
		"<noscript><p>x</p></noscript>y", "<noembed>a</noembed>", "<noframes>a</noframes>b", "<script>x</script>y",
		"<plaintext>a</plaintext>", "a\x00b", "<td>a</td><td>b</td>", "<ul><li>a<li>b</ul>", "<svg><text>x</text></svg>y",
		"<h1>T</h1><p>p</p><table><tr><td>c</td></tr></table>", "<head><title>t</title></head><body>b</body>",
		"<div><div hidden><div>x</div></div>y</div>", "<a\tb\fc\nd=e>t", "<a b=\"c>d\">t", "<a b='c\"d'>t",
	}
	for _, raw := range corpusMessages(tb) {
		for _, part := range htmlParts(raw) {
			samples = append(samples, string(part))
		}
	}
	return samples
}

// htmlParts are the decoded text/html parts of a message.
func htmlParts(raw []byte) [][]byte {
	var parts [][]byte
	var walk func(e *message.Entity)
	walk = func(e *message.Entity) {
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err != nil {
					return
				}
				walk(p)
			}
		}
		if ct, _, _ := e.Header.ContentType(); ct == "text/html" {
			if b, err := io.ReadAll(e.Body); err == nil {
				parts = append(parts, b)
			}
		}
	}
	if e, err := message.Read(bytes.NewReader(raw)); e != nil && err == nil {
		walk(e)
	}
	return parts
}

// sameTokens runs src through both tokenizers, token by token, until the
// end or until fastTokenizer declines; it reports the first difference.
// declined says whether the fast one declined.
func sameTokens(src string) (declined bool, err error) {
	fast := newFastTokenizer([]byte(src), nil)
	slow := html.NewTokenizer(strings.NewReader(src))
	for n := 0; ; n++ {
		ft := fast.Next()
		if fast.declined {
			return true, nil
		}
		st := slow.Next()
		if ft != st {
			return false, fmt.Errorf("token %d: %v, want %v", n, ft, st)
		}
		switch ft {
		case html.ErrorToken:
			return false, nil
		case html.TextToken:
			if f, s := string(fast.Text()), string(slow.Text()); f != s {
				return false, fmt.Errorf("token %d: text %q, want %q", n, f, s)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			fn, fa := fast.TagName()
			sn, sa := slow.TagName()
			if string(fn) != string(sn) || fa != sa {
				return false, fmt.Errorf("token %d: tag %q (attributes %v), want %q (%v)", n, fn, fa, sn, sa)
			}
			for more := sa; more; {
				fk, fv, fm := fast.TagAttr()
				if fast.declined {
					return true, nil
				}
				sk, sv, sm := slow.TagAttr()
				if string(fk) != string(sk) || string(fv) != string(sv) || fm != sm {
					return false, fmt.Errorf("token %d: <%s> attribute %q=%q (more %v), want %q=%q (%v)", n, sn, fk, fv, fm, sk, sv, sm)
				}
				more = sm
			}
		}
	}
}

// checkHTML holds fastTokenizer to html.Tokenizer on src, and htmlToText
// to the text made from html.Tokenizer's tokens.
func checkHTML(t *testing.T, src string) bool {
	t.Helper()
	declined, err := sameTokens(src)
	if err != nil {
		t.Errorf("tokens of %q: %v", src, err)
	}
	for _, limit := range []int{1 << 20, 10} {
		want := string(tokensToText(html.NewTokenizer(strings.NewReader(src)), limit))
		if got := string(htmlToText([]byte(src), limit)); got != want {
			t.Errorf("htmlToText(%q, %d)\n = %q\nwant %q", src, limit, got, want)
		}
	}
	return declined
}

func TestFastTokenizerIsHTMLTokenizer(t *testing.T) {
	samples := htmlSamples(t)
	declined, corpus := 0, 0
	for _, s := range samples {
		if checkHTML(t, s) {
			declined++
		}
		if strings.Contains(strings.ToLower(s), "<html") || strings.Contains(strings.ToLower(s), "<body") {
			corpus++
		}
	}
	t.Logf("%d samples (%d whole documents), %d declined", len(samples), corpus, declined)
}

func FuzzFastTokenizer(f *testing.F) {
	for _, s := range htmlSamples(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHTML(t, s)
	})
}
