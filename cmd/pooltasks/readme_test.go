package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/commands"
)

// repoRoot is where README.md and the paths it names are.
const repoRoot = "../.."

// TestDocCommands reads the command blocks of README.md and docs/*.md and
// checks each line that runs pooltasks, go, helm or docker build (after
// any VAR=value), and each /pooltasks line of Slack, is current: pooltasks
// lines resolve in the command tree (subcommands, flags, arguments, and the
// words of query through the command language); go, helm and docker build
// lines have their form, and the paths they name exist. It knows nothing
// of the documents' shape beyond fenced blocks, so that they can change.
func TestDocCommands(t *testing.T) {
	docs, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	docs = append([]string{filepath.Join(repoRoot, "README.md")}, docs...)
	checked := 0
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range commandLines(string(text)) {
			words, ok := shellWords(l.text)
			if !ok {
				t.Errorf("%s:%d: cannot read %q as a shell command", filepath.Base(doc), l.n, l.text)
				continue
			}
			if len(words) == 0 || slices.Contains(words, "…") {
				continue // a placeholder line: "pooltasks …"
			}
			var err error
			switch {
			case words[0] == "pooltasks":
				err = checkPooltasks(words[1:])
			case strings.HasPrefix(words[0], "/pooltasks"):
				_, err = commands.Parse(slackText(l.text), time.Now())
			case words[0] == "go":
				err = checkGo(words[1:])
			case words[0] == "helm":
				err = checkHelm(words[1:])
			case words[0] == "docker" && len(words) > 1 && words[1] == "build":
				err = checkDockerBuild(words[2:])
			default:
				continue
			}
			checked++
			if err != nil {
				t.Errorf("%s:%d: %s\n\t%v", filepath.Base(doc), l.n, l.text, err)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d command lines; the README has more", checked)
	}
}

// docLine is a line of a fenced block and its line number.
type docLine struct {
	n    int
	text string
}

// commandLines returns the lines of s's fenced code blocks, with the
// lines a trailing backslash continues joined to them, and without a
// leading "$ " prompt.
func commandLines(s string) []docLine {
	var out []docLine
	in := false
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, "```") {
			in = !in
			continue
		}
		if !in {
			continue
		}
		n := i + 1
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, docLine{n, strings.TrimPrefix(line, "$ ")})
	}
	return out
}

// slackComment is a comment after a /pooltasks line of a block.
var slackComment = regexp.MustCompile(`\s+#\s.*$`)

// slackText is what a /pooltasks line of a block types after the command.
func slackText(line string) string {
	return strings.TrimSpace(strings.TrimPrefix(slackComment.ReplaceAllString(line, ""), "/pooltasks"))
}

var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shellWords splits a line as a shell would, up to its first comment,
// pipe, redirection or list operator, and without leading VAR=value
// assignments: quotes are removed, $(...) stays in its word. ok is false
// for an unclosed quote or $(.
func shellWords(line string) (words []string, ok bool) {
	var w strings.Builder
	inWord, quote, depth := false, rune(0), 0
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	rs := []rune(line)
loop:
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case depth > 0:
			w.WriteRune(r)
			switch r {
			case '(':
				depth++
			case ')':
				depth--
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(':
			w.WriteString("$(")
			i++
			depth, inWord = 1, true
		case r == ' ' || r == '\t':
			flush()
		case !inWord && r == '#':
			break loop
		case strings.ContainsRune("|&;<>", r):
			break loop
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || depth > 0 {
		return nil, false
	}
	flush()
	for len(words) > 0 && envAssign.MatchString(words[0]) {
		words = words[1:]
	}
	return words, true
}

// checkPooltasks resolves args in the command tree as cobra would run
// them, without running anything.
func checkPooltasks(args []string) error {
	root := newRoot(&app{})
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if err := c.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	words := c.Flags().Args()
	if c.Args != nil {
		if err := c.ValidateArgs(words); err != nil {
			return err
		}
	} else if !c.Runnable() && len(words) > 0 {
		return unknownSubcommand(c, words[0])
	}
	if c.Name() == "query" && len(words) > 0 {
		switch strings.ToLower(words[0]) {
		case "pools", "output":
			return nil
		}
		_, err := commands.Parse(strings.Join(words, " "), time.Now())
		return err
	}
	return nil
}

// checkGo checks a go command's subcommand and that the local packages
// it names exist; go run's arguments are a pooltasks command line.
func checkGo(args []string) error {
	known := []string{"build", "install", "run", "test", "vet", "mod", "generate", "tool", "env", "version", "list", "get", "work", "fmt", "clean", "doc"}
	if len(args) == 0 || !slices.Contains(known, args[0]) {
		return fmt.Errorf("not a go command: go %s", strings.Join(args, " "))
	}
	for i, a := range args[1:] {
		if !strings.HasPrefix(a, "./") && a != "." {
			continue
		}
		if err := exists(strings.TrimSuffix(strings.TrimSuffix(a, "..."), "/")); err != nil {
			return err
		}
		if args[0] == "run" && strings.HasSuffix(a, "/cmd/pooltasks") {
			return checkPooltasks(args[2+i:])
		}
	}
	return nil
}

// checkHelm checks a helm command's subcommand and the local paths it
// names (a chart, values files).
func checkHelm(args []string) error {
	known := []string{"install", "upgrade", "template", "lint", "uninstall", "package", "show", "dependency", "repo", "status", "rollback", "test", "diff", "get", "list"}
	if len(args) == 0 || !slices.Contains(known, args[0]) {
		return fmt.Errorf("not a helm command: helm %s", strings.Join(args, " "))
	}
	for _, a := range args[1:] {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = v // --values=deploy/...
		}
		if localPath(a) {
			if err := exists(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDockerBuild checks a docker build command: one build context that
// exists, and the Dockerfile it names (-f), or the one in the context.
func checkDockerBuild(args []string) error {
	withValue := []string{"-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform", "--label", "--secret", "--ssh", "--cache-from", "--cache-to", "--output", "-o", "--progress", "--network"}
	var contexts []string
	dockerfile := "Dockerfile"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case slices.Contains(withValue, a):
			if i+1 == len(args) {
				return fmt.Errorf("%s needs a value", a)
			}
			if a == "-f" || a == "--file" {
				dockerfile = args[i+1]
			}
			i++
		case strings.HasPrefix(a, "-"):
			if name, _, _ := strings.Cut(a, "="); !slices.Contains(withValue, name) && !slices.Contains([]string{"--pull", "--no-cache", "-q", "--quiet", "--load", "--push"}, a) {
				return fmt.Errorf("unknown docker build flag %s", a)
			}
		default:
			contexts = append(contexts, a)
		}
	}
	if len(contexts) != 1 {
		return fmt.Errorf("docker build takes one build context, got %q", contexts)
	}
	if err := exists(contexts[0]); err != nil {
		return err
	}
	if dockerfile == "Dockerfile" {
		dockerfile = filepath.Join(contexts[0], dockerfile)
	}
	return exists(dockerfile)
}

// localPath reports whether a names a path in the repository: relative,
// with a directory, no variable.
func localPath(a string) bool {
	return strings.Contains(a, "/") && !strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "-") &&
		!strings.ContainsAny(a, "$~:<>") && !strings.HasPrefix(a, "http")
}

func exists(path string) error {
	if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
		return fmt.Errorf("%s does not exist in the repository", path)
	}
	return nil
}

// TestDocCommandsCatch: the checks of TestDocCommands refuse what has gone
// stale, so that a green TestDocCommands means something.
func TestDocCommandsCatch(t *testing.T) {
	for _, line := range []string{
		"pooltasks frobnicate",
		"pooltasks query --nope failed",
		"pooltasks query statsu=FAILED",
		"pooltasks doctor extra",
		"pooltasks digest --since tomorrow --nope",
		"go run ./cmd/nothere",
		"go run ./cmd/pooltasks qurey",
		"go frob ./...",
		"helm install pooltasks deploy/helm/nothere",
		"helm frob",
		"docker build -f Nofile .",
		"docker build --frob .",
		"/pooltasks failed statsu=x",
	} {
		words, ok := shellWords(line)
		if !ok {
			t.Fatalf("%q: not read", line)
		}
		var err error
		switch words[0] {
		case "pooltasks":
			err = checkPooltasks(words[1:])
		case "go":
			err = checkGo(words[1:])
		case "helm":
			err = checkHelm(words[1:])
		case "docker":
			err = checkDockerBuild(words[2:])
		default:
			_, err = commands.Parse(slackText(line), time.Now())
		}
		if err == nil {
			t.Errorf("%q passed", line)
		}
	}
	for line, want := range map[string][]string{
		`GOTOOLCHAIN=go1.27.3 go run ./cmd/pooltasks query --sim status=FAILED   # answers`: {"go", "run", "./cmd/pooltasks", "query", "--sim", "status=FAILED"},
		`docker build --build-arg VERSION=$(git describe --always --dirty) -t pooltasks .`:  {"docker", "build", "--build-arg", "VERSION=$(git describe --always --dirty)", "-t", "pooltasks", "."},
		`pooltasks completion bash > /etc/bash_completion.d/pooltasks`:                      {"pooltasks", "completion", "bash"},
		`pooltasks query 'pool=R&D lab' | head`:                                             {"pooltasks", "query", "pool=R&D lab"},
	} {
		if got, ok := shellWords(line); !ok || !slices.Equal(got, want) {
			t.Errorf("shellWords(%q) = %q, want %q", line, got, want)
		}
	}
}
