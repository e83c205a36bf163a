package bot_test

import (
	"strings"
	"testing"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
)

// bindings is POOLTASKS_CHANNEL_POOLS=s as serve reads it.
func bindings(t testing.TB, s string) config.Bindings {
	t.Helper()
	b, err := config.ParseBindings(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func poolsByName(e *env) map[string]pooltask.Pool {
	out := map[string]pooltask.Pool{}
	for _, p := range e.sim.Pools() {
		out[p.Name] = p
	}
	return out
}

// TestBindingsOthers: with *=pools, a DM and a channel the bindings do not
// name see only those pools (the first is their default); a named channel
// keeps its own.
func TestBindingsOthers(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{ChannelPools: bindings(t, "C9=dev-ubuntu;*=finance-win11")}})
	byName := poolsByName(e)
	for _, ch := range []string{"D0DM", "C1"} {
		m := e.slash(t, "U1", ch, "list since=7d")
		if r := find(t, m.Blocks, "refresh").Value; !strings.Contains(r, byName["finance-win11"].ID) {
			t.Errorf("%s: list %q, want the pool of *= (finance-win11)", ch, r)
		}
		before := e.sim.Requests()
		m = e.slash(t, "U1", ch, "list pool=dev-ubuntu")
		if !strings.Contains(m.Text, "finance-win11 only") {
			t.Errorf("%s: pool=dev-ubuntu answered %q, want a refusal naming finance-win11", ch, m.Text)
		}
		if n := e.sim.Requests() - before; n > 1 { // at most the pools lookup
			t.Errorf("%s: a refused pool made %d API calls", ch, n)
		}
	}
	m := e.slash(t, "U1", "C9", "list since=7d")
	if r := find(t, m.Blocks, "refresh").Value; !strings.Contains(r, byName["dev-ubuntu"].ID) {
		t.Errorf("C9: list %q, want its own pool dev-ubuntu", r)
	}
}

// TestBindingsNothing: with *=, a DM and an unnamed channel see no pool:
// every command but help is refused, saying the channel is not bound, and
// asks nothing of the API; a named channel still works.
func TestBindingsNothing(t *testing.T) {
	n := &notify.Notifier{}
	e := start(t, setup{cfg: bot.Config{Notifier: n, ChannelPools: bindings(t, "C9=dev-ubuntu;*=")}})
	task := runningTask(t, e).ID
	for _, ch := range []string{"D0DM", "C1"} {
		before := e.sim.Requests()
		for _, text := range []string{"list", "failed since=7d", "list pool=dev-ubuntu", "show " + task, "watch " + task, "digest"} {
			m := e.slash(t, "U1", ch, text)
			if !strings.Contains(m.Text, "not bound to any pool") {
				t.Errorf("%s %q answered %q, want the channel is not bound", ch, text, m.Text)
			}
		}
		// A forged Output button too.
		m := e.click(t, "U1", ch, button{ActionID: blocks.ActionOutput, Value: blocks.OutputValue("rec-1", task, "")})
		if !strings.Contains(m.Text+string(m.Blocks), "not bound to any pool") {
			t.Errorf("%s: Output click answered %q, want the channel is not bound", ch, m.Text)
		}
		if got := e.sim.Requests(); got != before {
			t.Errorf("%s: refused commands made %d API calls", ch, got-before)
		}
		if m := e.slash(t, "U1", ch, "help"); strings.Contains(m.Text, "not bound") {
			t.Errorf("%s: help refused: %q", ch, m.Text)
		}
	}
	m := e.slash(t, "U1", "C9", "list since=7d")
	if strings.Contains(m.Text, "not bound") {
		t.Errorf("C9 refused: %q", m.Text)
	}
}

// TestBindingsDefaultAll: without a *= entry, today's default holds: a DM
// and an unnamed channel see every pool.
func TestBindingsDefaultAll(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{ChannelPools: bindings(t, "C9=dev-ubuntu")}})
	byName := poolsByName(e)
	for _, ch := range []string{"D0DM", "C1"} {
		m := e.slash(t, "U1", ch, "list since=7d pool=finance-win11")
		if r := find(t, m.Blocks, "refresh").Value; !strings.Contains(r, byName["finance-win11"].ID) {
			t.Errorf("%s: %q, want finance-win11 listed", ch, r)
		}
	}
}
