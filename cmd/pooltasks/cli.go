package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/config"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// helpWidth is the width help text is wrapped to: a terminal's 80 columns.
const helpWidth = 80

// app is what every subcommand runs with: the environment's configuration,
// read once by main, and where to write.
type app struct {
	cfg            config.Config
	stdout, stderr io.Writer
	stdin          io.Reader // where retry and stop read their confirmation
	terminal       bool      // stdin is a terminal, so a person can confirm
}

// subcommands builds each subcommand of the tree; each file adds its own
// with register in an init function, so adding one touches no other file.
var subcommands []func(*app) *cobra.Command

func register(newCmd func(*app) *cobra.Command) {
	subcommands = append(subcommands, newCmd)
}

// newRoot is the command tree of pooltasks for one run.
func newRoot(a *app) *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "pooltasks COMMAND",
		Short: "Slack chat-ops for Huawei Cloud Workspace script execution tasks",
		Long: "pooltasks answers questions about the script execution tasks of " +
			"Huawei Cloud Workspace desktop pools in Slack (serve), posts failure digests, " +
			"and asks the same questions from a terminal (query, watch).\n\n" +
			"Configuration comes from the environment (see README.md); --sim runs " +
			"against the built-in simulator, no cloud account needed.",
		Example: "  pooltasks query --sim failed\n" +
			"  pooltasks doctor --sim\n" +
			"  pooltasks serve",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownSubcommand(c, args[0])
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if showVersion {
				return printVersion(a.stdout)
			}
			writeHelp(a.stderr, c)
			return usageErrorf("no subcommand given")
		},
		SilenceErrors: true, // exitCode reports them
		SilenceUsage:  true,
		// For "did you mean": cobra sets it only for its own message.
		SuggestionsMinimumDistance: 2,
	}
	root.Flags().BoolVar(&showVersion, "version", false, "print the version and exit")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { writeHelp(c.OutOrStdout(), c) })
	root.SetUsageFunc(func(c *cobra.Command) error { return writeUsage(c.OutOrStderr(), c) })
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v; see `%s -h`", c.Name(), err, c.CommandPath())
	})
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd(a))
	}
	// cobra adds these two when it runs; added now, they get examples.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  pooltasks help query"
		case "completion":
			// Runnable, so that a shell it does not know is an error.
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) == 0 {
					return usageErrorf("completion needs a shell: bash, zsh, fish or powershell")
				}
				return unknownSubcommand(c, args[0])
			}
			c.Example = "  source <(pooltasks completion bash)\n" +
				"  pooltasks completion zsh > \"${fpath[1]}/_pooltasks\"\n" +
				"  pooltasks completion fish > ~/.config/fish/completions/pooltasks.fish"
			for _, shell := range c.Commands() {
				shell.Example = map[string]string{
					"bash":       "  source <(pooltasks completion bash)",
					"zsh":        "  pooltasks completion zsh > \"${fpath[1]}/_pooltasks\"",
					"fish":       "  pooltasks completion fish | source",
					"powershell": "  pooltasks completion powershell | Out-String | Invoke-Expression",
				}[shell.Name()]
			}
		}
	}
	root.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Long:    "Print the version of pooltasks, the Go release that built it, and the platform. The same as pooltasks --version.",
		Example: "  pooltasks version",
		Args:    noArgs,
		RunE:    func(*cobra.Command, []string) error { return printVersion(a.stdout) },
	})
	return root
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "pooltasks %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// unknownSubcommand is the usage error for a word where c wants one of its
// subcommands.
func unknownSubcommand(c *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown subcommand %q", word)
	if s := c.SuggestionsFor(word); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", s[0])
	}
	return usageErrorf("%s; run `%s -h` for the list", msg, c.CommandPath())
}

// noArgs is the Args of a subcommand that takes no arguments.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", c.Name(), args[0])
	}
	return nil
}

// outputFlag is the value of -o/--output: table (the default; text is its
// old name) or json. A wrong value is a usage error when flags are parsed.
type outputFlag struct{ json bool }

func (o *outputFlag) String() string {
	if o.json {
		return "json"
	}
	return "table"
}

func (o *outputFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "table", "text":
		o.json = false
	case "json":
		o.json = true
	default:
		return fmt.Errorf("must be table or json")
	}
	return nil
}

func (o *outputFlag) Type() string { return "table|json" }

// addOutputFlag adds -o/--output to c, with its completion.
func addOutputFlag(c *cobra.Command, o *outputFlag) {
	c.Flags().VarP(o, "output", "o", "output format: table or json")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// writeHelp is -h, --help and `pooltasks help COMMAND`: the description and
// the usage, wrapped at helpWidth.
func writeHelp(w io.Writer, c *cobra.Command) {
	// A tab is as wide as the terminal likes; cobra's own texts indent
	// commands with one.
	desc := strings.ReplaceAll(strings.TrimSpace(cmp.Or(c.Long, c.Short)), "\t", "    ")
	fmt.Fprintln(w, wrap(desc, helpWidth))
	fmt.Fprintln(w)
	_ = writeUsage(w, c)
}

// writeUsage writes c's usage line, examples, subcommands and flags. It is
// plain Go rather than cobra's text/template, which would keep the linker
// from dropping unused methods (see TestLinkerDropsUnusedMethods).
func writeUsage(w io.Writer, c *cobra.Command) error {
	var b strings.Builder
	b.WriteString("Usage:\n")
	if c.Runnable() {
		b.WriteString(wrap("  "+c.UseLine(), helpWidth) + "\n")
	}
	if c.HasAvailableSubCommands() && !c.Runnable() {
		b.WriteString("  " + c.CommandPath() + " COMMAND\n")
	}
	if c.HasExample() {
		b.WriteString("\nExamples:\n" + wrap(strings.TrimRight(c.Example, "\n"), helpWidth) + "\n")
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\nCommands:\n")
		pad := 0
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				pad = max(pad, len(sub.Name()))
			}
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				b.WriteString(wrap(fmt.Sprintf("  %-*s  %s", pad, sub.Name(), sub.Short), helpWidth) + "\n")
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		b.WriteString("\nFlags:\n" + c.LocalFlags().FlagUsagesWrapped(helpWidth))
	}
	if c.HasAvailableInheritedFlags() {
		b.WriteString("\nGlobal flags:\n" + c.InheritedFlags().FlagUsagesWrapped(helpWidth))
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\nRun `" + c.CommandPath() + " COMMAND -h` for the flags and examples of each.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks each line of s longer than width at spaces. The lines it adds
// are indented like the line they continue, or, for a line of columns (a
// term, two spaces or more, its description) whose description starts
// within the first half of width, up to the description. A word longer
// than width stays whole.
func wrap(s string, width int) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		if n := hangAt(line, len(indent), width/2); n > 0 {
			indent = strings.Repeat(" ", n)
		}
		for utf8.RuneCountInString(line) > width {
			cut := breakAt(line, len(indent), width)
			if cut < 0 {
				break
			}
			b.WriteString(strings.TrimRight(line[:cut], " ") + "\n")
			line = indent + strings.TrimLeft(line[cut:], " ")
		}
		b.WriteString(line)
	}
	return b.String()
}

// hangAt is the column after the last run of two spaces or more that
// follows text (from byte from on) and ends within limit columns: where a
// description starts, after a term or two (doctor's status and check). It
// is 0 when there is none.
func hangAt(line string, from, limit int) int {
	col := 0
	for i := from; i < len(line); {
		gap := strings.Index(line[i:], "  ")
		if gap <= 0 {
			if gap == 0 { // more spaces of a run already counted
				i++
				continue
			}
			break
		}
		end := i + gap
		for end < len(line) && line[end] == ' ' {
			end++
		}
		n := utf8.RuneCountInString(line[:end])
		if n > limit || end == len(line) {
			break
		}
		col, i = n, end
	}
	return col
}

// breakAt is the byte offset of the last space after the first from bytes
// of line at which line[:offset] is at most width runes, else of the first
// such space at all, else -1.
func breakAt(line string, from, width int) int {
	best, n := -1, 0
	for i, r := range line {
		if r == ' ' && i > from {
			if n <= width || best < 0 {
				best = i
			}
			if n >= width {
				break
			}
		}
		n++
	}
	return best
}
