package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/pooltask"
)

// TestTaskIDPrefix: in Slack as in the terminal, show and watch take the
// first 8 characters of a task id or more; the start of several ids, or of
// none, gets an answer that says so.
func TestTaskIDPrefix(t *testing.T) {
	n := &fakeNotifier{}
	e := start(t, setup{cfg: bot.Config{Notifier: n}})
	pools := e.sim.Pools()
	now := time.Now().UTC()
	for _, id := range []string{"abcdef12-0000-4000-8000-000000000001", "abcdef12-0000-4000-8000-000000000002", "fedcba98-0000-4000-8000-000000000003"} {
		e.sim.PutTask(pooltask.Task{ID: id, PoolID: pools[0].ID, PoolName: pools[0].Name,
			Scripts: []pooltask.Script{{ID: "s1", Name: "prefix-test"}},
			Start:   now.Add(-time.Minute), Status: pooltask.StatusRunning, SuccessNum: 1})
	}
	if m := e.slash(t, "U1", "C1", "show fedcba98"); !strings.Contains(decoded(m.Blocks), "fedcba98-0000-4000-8000-000000000003") {
		t.Errorf("show fedcba98 = %q\n%s", m.Text, decoded(m.Blocks))
	}
	if m := e.slash(t, "U1", "C1", "watch FEDCBA98-0000"); !strings.Contains(m.Text, "Watching task fedcba98-0000-4000-8000-000000000003") {
		t.Errorf("watch FEDCBA98-0000 = %q", m.Text)
	}
	n.mu.Lock()
	got := n.watches
	n.mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "fedcba98-0000-4000-8000-000000000003 C1 ") {
		t.Errorf("watches started %q; want the whole id", got)
	}
	if m := e.slash(t, "U1", "C1", "list task=fedcba98,abcdef12-0000-4000-8000-000000000001"); !strings.Contains(decoded(m.Blocks), "fedcba98-0000-4000-8000-000000000003") ||
		!strings.Contains(decoded(m.Blocks), "task=fedcba98-0000-4000-8000-000000000003,abcdef12-0000-4000-8000-000000000001") {
		t.Errorf("list task=fedcba98,… = %q\n%s", m.Text, decoded(m.Blocks))
	}
	for text, want := range map[string]string{
		"list task=abcdef12": "Which task?",
		"show abcdef12":      "Which task?",
		"watch abcdef12":     "is the start of several task ids (abcdef12-0000-4000-8000-00000000000",
		"show 0badc0de":      "No task id is or starts with 0badc0de",
		"show abcdef":        "the start of an id needs 8 characters at least",
	} {
		m := e.slash(t, "U1", "C1", text)
		if s := m.Text + decoded(m.Blocks); !strings.Contains(s, want) {
			t.Errorf("%s = %s; want %q", text, s, want)
		}
	}
}
