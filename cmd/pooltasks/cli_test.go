package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// walk calls f with every command of the tree, the root first.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// flat is s with every run of white space, line breaks included, one
// space: text as it reads, however it was wrapped.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkWidth fails for each line of out wider than helpWidth columns.
func checkWidth(t *testing.T, what, out string) {
	t.Helper()
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if n := utf8.RuneCountInString(strings.ReplaceAll(line, "\t", "        ")); n > helpWidth {
			t.Errorf("%s: a line of %d columns:\n%s", what, n, line)
		}
	}
}

// TestHelpEverywhere: -h on every command of the tree exits 0 with a
// description, a usage line and examples, within 80 columns; so does
// `pooltasks help COMMAND`.
func TestHelpEverywhere(t *testing.T) {
	root := newRoot(&app{cfg: defaults(t)})
	n := 0
	walk(root, func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		n++
		path := strings.Fields(c.CommandPath())[1:]
		code, out, errOut := call(t, defaults(t), append(path, "-h")...)
		what := c.CommandPath() + " -h"
		if code != 0 || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q", what, code, errOut)
		}
		desc, _, _ := strings.Cut(out, "\n\nUsage:\n  ")
		if len(desc) < 20 || !strings.Contains(out, "\n\nUsage:\n  "+c.CommandPath()) {
			t.Errorf("%s: no description or usage:\n%s", what, out)
		}
		if !strings.Contains(out, "\nExamples:\n  ") {
			t.Errorf("%s: no examples:\n%s", what, out)
		}
		checkWidth(t, what, out)
		if len(path) > 0 {
			_, helpOut, _ := call(t, defaults(t), append([]string{"help"}, path...)...)
			if helpOut != out {
				t.Errorf("pooltasks help %s differs from %s", strings.Join(path, " "), what)
			}
		}
	})
	if n < 12 {
		t.Errorf("walked %d commands; the tree is smaller than it should be", n)
	}
	code, out, _ := call(t, defaults(t), "help")
	for _, want := range []string{"query", "digest", "doctor", "serve", "sim", "completion", "version"} {
		if !strings.Contains(out, "\n  "+want+" ") {
			t.Errorf("pooltasks help lists no %s:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("help: exit %d", code)
	}
	checkWidth(t, "pooltasks help", out)
	_, out, _ = call(t, defaults(t), "query", "help")
	checkWidth(t, "pooltasks query help", out)
}

func TestVersion(t *testing.T) {
	want := "pooltasks dev (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errOut := call(t, defaults(t), args...)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errOut, want)
		}
	}
	if code, _, errOut := call(t, defaults(t), "query", "--version"); code != 2 || !strings.Contains(errOut, "unknown flag: --version") {
		t.Errorf("query --version: exit %d, %q", code, errOut)
	}
}

// TestUsageErrors: a mistake on the command line exits 2 and says what to
// do; nothing is printed on stdout.
func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no subcommand given"},
		{[]string{"qurey"}, `unknown subcommand "qurey"; did you mean query?`},
		{[]string{"--nope"}, "unknown flag: --nope; see `pooltasks -h`"},
		{[]string{"doctor", "now"}, `doctor takes no arguments, got "now"`},
		{[]string{"sim", "--seed", "x"}, `invalid argument "x" for "--seed"`},
		{[]string{"query", "-o"}, "flag needs an argument"},
		{[]string{"completion", "tcsh"}, `unknown subcommand "tcsh"`},
	} {
		code, out, errOut := call(t, defaults(t), tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

// TestCompletion: the scripts for each shell, and the completions they
// ask the program for: subcommands, flags and the values of --output.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "# bash completion V2 for pooltasks",
		"zsh":  "#compdef pooltasks",
		"fish": "complete -c pooltasks ",
	} {
		code, out, errOut := call(t, defaults(t), "completion", shell)
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q:\n%.300s", shell, code, errOut, want, out)
		}
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", ""}, []string{"query\t", "doctor\t", "completion\t"}},
		{[]string{"__complete", "query", "--"}, []string{"--output\t", "--sim\t"}},
		{[]string{"__complete", "query", "-o", ""}, []string{"table", "json"}},
		{[]string{"__complete", "completion", ""}, []string{"bash\t", "zsh\t", "fish\t"}},
		{[]string{"__complete", "query", ""}, []string{"failed\n", "show\n", "pools\n", "output\n", "status=\n"}},
		{[]string{"__complete", "query", "failed", "st"}, []string{"status=\n", ":6\n"}},
		{[]string{"__complete", "query", "status=r"}, []string{"status=RUNNING\n"}},
	} {
		code, out, errOut := call(t, defaults(t), tt.args...)
		if code != 0 {
			t.Errorf("%v: exit %d, %q", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: no %q in\n%s", tt.args, w, out)
			}
		}
	}
}

func TestOutputFlag(t *testing.T) {
	code, out, errOut := call(t, defaults(t), "query", "--sim", "-o", "json", "failed", "limit=2")
	var got listJSON
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Tasks) != 2 {
		t.Fatalf("-o json: exit %d, stderr %q, stdout %s", code, errOut, out)
	}
	// table is the default, and text its old name.
	for _, args := range [][]string{{"-o", "table"}, {"--output=text"}, {}} {
		code, out, errOut := call(t, defaults(t), append([]string{"query", "--sim", "failed", "limit=2"}, args...)...)
		if code != 0 || !strings.HasPrefix(out, "ID ") {
			t.Errorf("%v: exit %d, stderr %q, stdout %s", args, code, errOut, out)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		in    string
		width int
		want  string
	}{
		{"short", 10, "short"},
		{"one two three four", 9, "one two\nthree\nfour"},
		{"  indented words here", 12, "  indented\n  words here"},
		{"averyveryverylongword and more", 8, "averyveryverylongword\nand more"},
		{"a\n\nb", 3, "a\n\nb"},
		{"tail spaces  between", 8, "tail\nspaces\nbetween"},
		{"  term  the description of it", 16, "  term  the\n        description\n        of it"},
		{"  a very long term  then its description", 30, "  a very long term  then its\n  description"},
		{"ok    NAME  the detail of the check", 24, "ok    NAME  the detail\n            of the check"},
	} {
		if got := wrap(tt.in, tt.width); got != tt.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}
