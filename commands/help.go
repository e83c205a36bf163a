package commands

import (
	"strings"
)

// Help returns the usage of the command language with examples, generated
// from the tables that drive the parser. It is plain text without < > &,
// safe to send as Slack mrkdwn; wrap it in a code block to keep it aligned.
func Help() string { return helpText }

var helpText = buildHelp()

func buildHelp() string {
	var b strings.Builder
	b.WriteString("Usage: /pooltasks [VERB] [key=value ...] [share]\n\nVerbs:\n")
	for _, v := range verbs {
		usage := string(v.verb)
		if v.args != "" {
			usage += " " + v.args
		}
		b.WriteString("  " + pad(usage, 24) + v.help + "\n")
	}
	b.WriteString("\nKeys (any case; values with spaces go in \"double quotes\"):\n")
	for _, k := range keys {
		names := append([]string{k.name}, k.aliases...)
		b.WriteString("  " + pad(strings.Join(names, ", "), 24) + k.help + "\n")
	}
	b.WriteString("  " + pad("share", 24) + shareHelp + "\n")
	b.WriteString("\nExamples:\n")
	for _, v := range verbs {
		for _, e := range v.examples {
			b.WriteString("  /pooltasks " + e + "\n")
		}
	}
	b.WriteString("\nMore on one key or verb: help KEY, e.g. help since\n")
	return b.String()
}

// HelpTopic explains one key (by its name or an alias), verb, or share, in
// any case. ok is false for anything else.
func HelpTopic(topic string) (text string, ok bool) {
	topic = strings.TrimSpace(topic)
	if id, ok := lookupKey(topic); ok {
		k := keys[id]
		var b strings.Builder
		b.WriteString(k.name + "=" + k.value + "\n")
		if len(k.aliases) > 0 {
			b.WriteString("  also written: " + strings.Join(k.aliases, ", ") + "\n")
		}
		b.WriteString("  " + k.help + "\n")
		if k.api != "" {
			b.WriteString("  sent to the API as " + k.api + "\n")
		}
		if id == keyStatus {
			b.WriteString("  (the API filter's SUCCESS matches tasks that FINISHed, WAITING those in INIT)\n")
		}
		b.WriteString("  examples:\n")
		for _, e := range k.examples {
			b.WriteString("    /pooltasks " + e + "\n")
		}
		return b.String(), true
	}
	if v, ok := lookupVerb(topic); ok {
		row := verbRow(v)
		var b strings.Builder
		usage := string(v)
		if row.args != "" {
			usage += " " + row.args
		}
		b.WriteString(usage + "\n  " + row.help + "\n")
		if row.keys != 0 && row.keys != allKeys {
			var names []string
			for id := range keys {
				if row.keys&(1<<id) != 0 {
					names = append(names, keys[id].name)
				}
			}
			b.WriteString("  keys: " + strings.Join(names, ", ") + "\n")
		}
		b.WriteString("  examples:\n")
		for _, e := range row.examples {
			b.WriteString("    /pooltasks " + e + "\n")
		}
		return b.String(), true
	}
	if equalFoldASCII(topic, "share") {
		return "share\n  " + shareHelp + "; answers are only shown to you otherwise\n  examples:\n    /pooltasks failed share\n", true
	}
	return "", false
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s + "  "
	}
	return s + strings.Repeat(" ", n-len(s))
}
