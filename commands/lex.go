package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// decoder undoes what Slack does to typed text: it sends &, < and > as
// entities and may turn straight double quotes into typographic ones. One
// pass, so "&amp;lt;" becomes "&lt;" and not "<".
var decoder = strings.NewReplacer(
	"&amp;", "&", "&lt;", "<", "&gt;", ">",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u201f", `"`,
)

// decode returns text with Slack's markup undone: links it made of words
// like cleanup.sh, entities, smart quotes. It does not allocate when there
// is nothing to undo.
func decode(text string) string {
	if strings.IndexByte(text, '<') >= 0 {
		text = unwrapLinks(text)
	}
	if strings.IndexByte(text, '&') < 0 && strings.IndexByte(text, 0xE2) < 0 {
		return text
	}
	return decoder.Replace(text)
}

// unwrapLinks replaces Slack's links, <http://cleanup.sh|cleanup.sh> and
// <https://x.example>, by their text. Message text (mentions of the bot)
// turns anything that looks like a domain or an address into one. Other
// markup (<@U123>, <#C123|ops>) is left alone. A '<' typed by a person
// arrives as &lt;, so a raw '<' is always Slack's.
func unwrapLinks(text string) string {
	var b strings.Builder
	rest := text
	for {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(rest[lt:], '>')
		if gt < 0 {
			break
		}
		inner := rest[lt+1 : lt+gt]
		label, ok := linkText(inner)
		if !ok {
			b.WriteString(rest[:lt+gt+1])
			rest = rest[lt+gt+1:]
			continue
		}
		b.WriteString(rest[:lt])
		b.WriteString(label)
		rest = rest[lt+gt+1:]
	}
	if b.Len() == 0 && len(rest) == len(text) {
		return text
	}
	b.WriteString(rest)
	return b.String()
}

// linkText returns what a person typed for the inside of Slack's <...>.
func linkText(inner string) (string, bool) {
	url, label, hasLabel := strings.Cut(inner, "|")
	var scheme string
	for _, s := range []string{"http://", "https://", "mailto:"} {
		if len(url) >= len(s) && equalFoldASCII(url[:len(s)], s) {
			scheme = s
			break
		}
	}
	switch {
	case scheme == "":
		return "", false
	case hasLabel:
		return label, true
	case scheme == "mailto:":
		return url[len(scheme):], true
	default:
		return url, true
	}
}

// token is one whitespace-separated word of the text. Double quotes group
// words and are removed; inside quotes \" is a quote and \\ a backslash.
type token struct {
	raw    string // as written, for messages
	key    string // before the first unquoted '=', unquoted
	value  string // after it, unquoted; the whole word when !hasEq
	hasEq  bool
	closed bool // false when a quote was left open
}

// isSpace reports whether the rune at s[i:] is white space, and its width.
func isSpace(s string, i int) (bool, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f', 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r), n
}

// nextToken scans the token starting at or after s[i]. ok is false at the
// end of the text.
func nextToken(s string, i int) (t token, next int, ok bool) {
	for i < len(s) {
		sp, n := isSpace(s, i)
		if !sp {
			break
		}
		i += n
	}
	if i >= len(s) {
		return token{}, i, false
	}
	start := i
	eq := -1
	inQuote := false
	for i < len(s) {
		c := s[i]
		if inQuote {
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i += 2
			case c == '"':
				inQuote = false
				i++
			default:
				i++
			}
			continue
		}
		if c == '"' {
			inQuote = true
			i++
			continue
		}
		if c == '=' && eq < 0 {
			eq = i
		}
		sp, n := isSpace(s, i)
		if sp {
			break
		}
		i += n
	}
	raw := s[start:i]
	t = token{raw: raw, closed: !inQuote}
	if eq >= 0 {
		t.hasEq = true
		t.key = unquote(s[start:eq])
		t.value = unquote(s[eq+1 : i])
	} else {
		t.value = unquote(raw)
		// A quoted key=value, as in "name=rotate cert" or Slack's
		// “name=rotate cert”, is still a key=value.
		if eq := strings.IndexByte(t.value, '='); eq >= 0 {
			t.hasEq = true
			t.key, t.value = t.value[:eq], t.value[eq+1:]
		}
	}
	return t, i, true
}

// unquote removes the quotes of a scanned word and resolves the escapes in
// them. Plain words and words that are one quoted run without escapes come
// back without allocation.
func unquote(w string) string {
	q := strings.IndexByte(w, '"')
	if q < 0 {
		return w
	}
	if q == 0 && len(w) >= 2 && w[len(w)-1] == '"' {
		inner := w[1 : len(w)-1]
		if strings.IndexByte(inner, '"') < 0 && strings.IndexByte(inner, '\\') < 0 {
			return inner
		}
	}
	var b strings.Builder
	b.Grow(len(w))
	inQuote := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(w) && (w[i+1] == '"' || w[i+1] == '\\'):
			b.WriteByte(w[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// appendValue renders a value so that decode and nextToken read it back
// unchanged: < and > as Slack sends them, &lt; &gt; (so they are never taken
// for a link), and a & that starts an entity as &amp;. A parsed value never holds a smart quote (decode turned it into
// a quote before the value was read), so those need no care here.
func appendValue(b []byte, v string) []byte {
	needQuote := v == ""
	for i := 0; i < len(v) && !needQuote; {
		if v[i] == '"' {
			needQuote = true
			break
		}
		sp, n := isSpace(v, i)
		needQuote = sp
		i += n
	}
	if needQuote {
		b = append(b, '"')
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case needQuote && (c == '"' || c == '\\'):
			b = append(b, '\\', c)
		case c == '&' && isEntityAt(v, i):
			b = append(b, "&amp;"...)
		case c == '<':
			b = append(b, "&lt;"...)
		case c == '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	if needQuote {
		b = append(b, '"')
	}
	return b
}

// isEntityAt reports whether s[i:] starts with an entity decode would undo.
func isEntityAt(s string, i int) bool {
	r := s[i:]
	return strings.HasPrefix(r, "&amp;") || strings.HasPrefix(r, "&lt;") || strings.HasPrefix(r, "&gt;")
}
