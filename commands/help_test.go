package commands

import (
	"slices"
	"strings"
	"testing"
)

func TestHelpMentionsEveryKeyAndVerb(t *testing.T) {
	h := Help()
	for _, k := range keys {
		for _, name := range append([]string{k.name}, k.aliases...) {
			if !strings.Contains(h, name) {
				t.Errorf("Help() does not mention key %s", name)
			}
		}
	}
	for _, v := range verbs {
		if !strings.Contains(h, "\n  "+string(v.verb)) {
			t.Errorf("Help() does not list verb %s", v.verb)
		}
	}
	if strings.ContainsAny(h, "<>&") {
		t.Errorf("Help() holds < > or &, which Slack mrkdwn would read as markup")
	}
}

// Every example in the help must be a command Parse accepts, so the help
// cannot drift from the parser.
func TestHelpExamplesParse(t *testing.T) {
	n := 0
	for _, line := range strings.Split(Help(), "\n") {
		ex, ok := strings.CutPrefix(strings.TrimSpace(line), "/pooltasks ")
		if !ok || strings.HasPrefix(ex, "[") {
			continue
		}
		n++
		if _, err := Parse(ex, now); err != nil {
			t.Errorf("help example %q: %v", ex, err)
		}
	}
	for _, k := range keys {
		for _, ex := range k.examples {
			n++
			if _, err := Parse(ex, now); err != nil {
				t.Errorf("example of %s %q: %v", k.name, ex, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d examples, want at least 20", n)
	}
}

func TestHelpTopic(t *testing.T) {
	tests := []struct {
		topic string
		ok    bool
		want  []string
	}{
		{"status", true, []string{"status=STATUS", "SUCCESS, FAILED, RUNNING or WAITING", "FINISH"}},
		{"FROM", true, []string{"since=TIME", "also written: from, start", "execute_time_start", "since=2h"}},
		{"until", true, []string{"end of that day"}},
		{"desktop_pool_id", true, []string{"pool=POOL", "desktop_pool_id"}},
		{"digest", true, []string{"digest", "keys: pool, script, name, type, since, until"}},
		{"show", true, []string{"show TASK_ID"}},
		{"share", true, []string{"channel"}},
		{"stauts", false, nil},
		{"", false, nil},
	}
	for _, tt := range tests {
		got, ok := HelpTopic(tt.topic)
		if ok != tt.ok {
			t.Errorf("HelpTopic(%q) ok = %v, want %v", tt.topic, ok, tt.ok)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("HelpTopic(%q) = %q, want it to contain %q", tt.topic, got, w)
			}
		}
		if strings.ContainsAny(got, "<>&") {
			t.Errorf("HelpTopic(%q) holds < > or &", tt.topic)
		}
	}
}

// Every topic Parse accepts after help has a HelpTopic text.
func TestHelpTopicForEveryTopic(t *testing.T) {
	for _, w := range topicNames() {
		c, err := Parse("help "+w, now)
		if err != nil {
			t.Fatalf("Parse(help %s): %v", w, err)
		}
		if _, ok := HelpTopic(c.Topic); !ok {
			t.Errorf("help %s gives topic %q, which HelpTopic does not know", w, c.Topic)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		w, want string
	}{
		{"stauts", "status"}, {"STATSU", "status"}, {"limt", "limit"}, {"paeg", "page"},
		{"scirpt", "script"}, {"pool_di", "pool_id"}, {"untill", "until"}, {"xyzzy", ""},
		{strings.Repeat("a", 100), ""},
	}
	for _, tt := range tests {
		got, _ := suggest(tt.w, keyNames())
		if got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.w, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	for _, tt := range []struct {
		words  []string
		prefix string
		want   string
	}{
		{nil, "fa", "failed"},
		{nil, "sta", "status="},
		{nil, "pa", "page="},
		{[]string{"failed"}, "sta", "status="},
		{[]string{"digest"}, "li", ""},
		{[]string{"show"}, "", "target= share"},
		{nil, "tar", "target="},
		{nil, "status=f", "status=FAILED"},
		{nil, "STATUS=", "STATUS=SUCCESS STATUS=FAILED STATUS=RUNNING STATUS=WAITING"},
		{nil, "type=c", "type=COMMAND"},
		{nil, "since=y", "since=yesterday"},
		{nil, "nope=", ""},
	} {
		if got := strings.Join(Complete(tt.words, tt.prefix), " "); got != tt.want {
			t.Errorf("Complete(%q, %q) = %q, want %q", tt.words, tt.prefix, got, tt.want)
		}
	}
	// Every verb and key at the start, from the tables.
	all := Complete(nil, "")
	for _, v := range verbs {
		if !slices.Contains(all, string(v.verb)) {
			t.Errorf("Complete(nil, \"\") lacks the verb %s", v.verb)
		}
	}
	// Each key where a verb takes it: the filters at the start (list is
	// the default verb), for= and reason= after mute.
	for _, v := range verbs {
		got := Complete([]string{string(v.verb)}, "")
		for id, k := range keys {
			if v.keys&(1<<id) != 0 && !slices.Contains(got, k.name+"=") {
				t.Errorf("Complete(%q, \"\") lacks the key %s=", v.verb, k.name)
			}
		}
	}
	for _, k := range keys[:keyFor] {
		if !slices.Contains(all, k.name+"=") {
			t.Errorf("Complete(nil, \"\") lacks the key %s=", k.name)
		}
	}
}
