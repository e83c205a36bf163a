package trunc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"", 5, ""},
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"hello", 0, ""},
		{"hello", 1, "…"},
		{"héllo", 5, "héllo"},  // 6 bytes, 5 characters: fits
		{"ééééé", 3, "éé…"},    // 2-byte characters are never split
		{"日本語テキスト", 4, "日本語…"}, // 3-byte characters
		{"a😀b", 4, "a😀b"},      // 😀 counts 2: 4 in all
		{"a😀bc", 4, "a😀…"},
		{"ab😀", 3, "ab…"}, // 😀 does not fit beside the ellipsis
		{"\xff\xfe", 1, "…"},
	} {
		got := Cut(c.s, c.max)
		if got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
		if Len(got) > max(c.max, 0) {
			t.Errorf("Cut(%q, %d) = %q is %d long", c.s, c.max, got, Len(got))
		}
	}
}

// The API client once cut error details at a byte count, in the middle of a
// character; Cut never does, whatever the budget.
func TestCutKeepsUTF8Valid(t *testing.T) {
	s := strings.Repeat("é日😀x", 50)
	for n := 0; n <= Len(s)+1; n++ {
		got := Cut(s, n)
		if !utf8.ValidString(got) {
			t.Fatalf("Cut(s, %d) = %q is not valid UTF-8", n, got)
		}
		if Len(got) > n {
			t.Fatalf("Cut(s, %d) is %d long", n, Len(got))
		}
		if got != s && n > 0 && !strings.HasSuffix(got, Ellipsis) {
			t.Fatalf("Cut(s, %d) = %q lacks the ellipsis", n, got)
		}
	}
}

func TestLen(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "日本": 2, "😀": 2, "\xff": 1} {
		if got := Len(s); got != want {
			t.Errorf("Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzCut(f *testing.F) {
	f.Add("héllo wörld 😀", 5)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1000
		got := Cut(s, n)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Cut(%q, %d) = %q: invalid UTF-8", s, n, got)
		}
		if Len(got) > max(n, 0) {
			t.Fatalf("Cut(%q, %d) = %q is %d long", s, n, got, Len(got))
		}
	})
}
