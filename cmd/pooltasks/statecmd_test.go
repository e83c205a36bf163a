package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// fillState saves state of every kind into the file store in dir, through
// the store's own methods.
func fillState(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	s, err := state.Open(dir, state.Options{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetDigestWatermark(ctx, "daily", now.Add(-time.Hour)))
	must(s.SetDigestIntent(ctx, "daily", state.Intent{Key: "digest/daily/1", At: now, Start: now.Add(-time.Hour), End: now}))
	must(s.AddAlertKnown(ctx, "alerts", map[string]time.Time{"t1": now.Add(-2 * time.Hour), "t2": now.Add(-time.Hour)}, now.Add(-24*time.Hour), 0))
	must(s.AddAlertIntent(ctx, "alerts", state.Intent{Key: "alert/t3", At: now, Tasks: map[string]time.Time{"t3": now}}))
	must(s.AddAlertIntent(ctx, "fresh", state.Intent{Key: "alert/t4", At: now, Tasks: map[string]time.Time{"t4": now}}))
	must(s.AddAlertKnown(ctx, "empty", nil, now.Add(-24*time.Hour), 0))
	must(s.PutWatch(ctx, state.Watch{ID: "w1", TaskID: "t1", Channel: "C1", MessageTS: "1.1", UserID: "U1", Started: now}))
	must(s.SetChartsRefused(ctx))
	_, _, err = s.BeginAction(ctx, state.ActionIntent{Key: "retry/t1", Action: "retry", TaskID: "t1", Actor: "U1", Started: now, Expires: now.Add(time.Hour)})
	must(err)
	must(s.EndAction(ctx, state.ActionIntent{Key: "retry/t1", Action: "retry", TaskID: "t1", Actor: "U1", Started: now,
		Outcome: "done", NewTaskID: "t9", Ended: now, Expires: now.Add(time.Hour)}))
	// The same task id in another target is another action.
	eu := state.ActionIntent{Key: act.Key(act.Request{Action: pooltask.ActionRetry, Target: "eu", TaskID: "t1"}), Action: "retry", Target: "eu",
		TaskID: "t1", Actor: "U2", Started: now, Expires: now.Add(time.Hour)}
	_, _, err = s.BeginAction(ctx, eu)
	must(err)
	must(s.PutApproval(ctx, state.Approval{ID: "a3", Intent: eu, Channel: "C1", MessageTS: "4.4", Expires: now.Add(time.Hour)}))
	must(s.PutApproval(ctx, state.Approval{ID: "a1", Intent: state.ActionIntent{Key: "stop/t2", Action: "stop", TaskID: "t2", Actor: "U1", Started: now, Expires: now.Add(time.Hour)},
		Channel: "C1", MessageTS: "2.2", Expires: now.Add(time.Hour)}))
	must(s.PutApproval(ctx, state.Approval{ID: "a2", Intent: state.ActionIntent{Key: "stop/t3", Action: "stop", TaskID: "t3", Actor: "U1", Started: now, Expires: now.Add(time.Hour)},
		Channel: "C1", Expires: now.Add(time.Hour)}))
	_, _, err = s.DecideApproval(ctx, "a2", "approved", "U2", now)
	must(err)
	must(s.PutAlert(ctx, pooltask.Alert{Channel: "C1", TS: "3.3", Task: pooltask.Task{ID: "t1"}, Posted: now, AckedBy: "U2", AckedAt: now}))
	_, err = s.PutMute(ctx, pooltask.Mute{PoolID: "p1", By: "U1", Reason: "upgrade", Start: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)})
	must(err)
	_, err = s.PutMute(ctx, pooltask.Mute{PoolID: "p2", By: "U1", Start: now, Until: now.Add(time.Hour)})
	must(err)
	must(s.AddMutedFailures(ctx, "C1", "p2@x", []string{"t5", "t6"}))
	must(s.SetMuteTold(ctx, "C2", "p1@y"))
}

// exportState runs state export with cfg and returns the document.
func exportState(t *testing.T, env map[string]string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export.json")
	if code, stdout, stderr := call(t, fromEnv(env), "state", "export", "--to", out); code != 0 {
		t.Fatalf("state export: exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStateExportImport: a file store with state of every kind, exported,
// imported into a real redis-server and exported from there, gives the same
// document; that document imported into an empty state directory gives it
// again.
func TestStateExportImport(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	fileEnv := map[string]string{"POOLTASKS_STATE_DIR": t.TempDir()}
	redisEnv := map[string]string{"POOLTASKS_REDIS_URL": srv.URL(), "POOLTASKS_STATE_DIR": t.TempDir()}
	fillState(t, fileEnv["POOLTASKS_STATE_DIR"])

	fromFile := exportState(t, fileEnv)
	for _, w := range []string{`"version": 1`, `"daily"`, `"alert/t3"`, `"unprimed": true`, `"w1"`, `"charts_refused": true`,
		`"new_task_id": "t9"`, `"retry@eu:task:t1"`, `"target": "eu"`, `"decided_by": "U2"`, `"acked_by": "U2"`, `"reason": "upgrade"`, `"t6"`, `"told": true`} {
		if !strings.Contains(fromFile, w) {
			t.Errorf("the export does not keep %s:\n%s", w, fromFile)
		}
	}
	doc := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(doc, []byte(fromFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := call(t, fromEnv(redisEnv), "state", "import", "--from", doc); code != 0 {
		t.Fatalf("import into redis: exit %d: %s", code, stderr)
	}
	if fromRedis := exportState(t, redisEnv); fromRedis != fromFile {
		t.Errorf("redis exports\n%s\nthe file store exported\n%s", fromRedis, fromFile)
	}

	// A store that keeps something is replaced only with --force.
	code, _, stderr := call(t, fromEnv(redisEnv), "state", "import", "--from", doc)
	if code != 1 || !strings.Contains(stderr, "is not empty: give --force") {
		t.Errorf("import into a full redis: exit %d: %s", code, stderr)
	}
	if code, _, stderr := call(t, fromEnv(redisEnv), "state", "import", "--from", doc, "--force"); code != 0 {
		t.Errorf("import --force: exit %d: %s", code, stderr)
	}

	// Back: Redis into an empty state directory.
	back := map[string]string{"POOLTASKS_STATE_DIR": t.TempDir()}
	redisDoc := filepath.Join(t.TempDir(), "redis.json")
	if err := os.WriteFile(redisDoc, []byte(exportState(t, redisEnv)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := call(t, fromEnv(back), "state", "import", "--from", redisDoc); code != 0 {
		t.Fatalf("import into a state directory: exit %d: %s", code, stderr)
	}
	if got := exportState(t, back); got != fromFile {
		t.Errorf("the state directory exports\n%s\nwant\n%s", got, fromFile)
	}
}

// TestStateImportRefuses: a document that is not one, or one of a newer
// version, is bad input (exit 2, saying which); a state directory a
// running scheduler holds is not written (exit 1).
func TestStateImportRefuses(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"POOLTASKS_STATE_DIR": dir}
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "doc.json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		doc  string
		code int
		want []string
	}{
		{"not json", 2, []string{"is not a state document made by `pooltasks state export`", "invalid character"}},
		{`{"version": 9, "written_by": "pooltasks v9.0.0"}`, 2, []string{"was exported by pooltasks v9.0.0", "state version 9", "knows version 1"}},
		{`{"version": 0}`, 2, []string{"unknown state version 0"}},
	} {
		code, _, stderr := call(t, fromEnv(env), "state", "import", "--from", write(c.doc))
		if code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.doc, code, c.code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr does not say %q: %s", c.doc, w, stderr)
			}
		}
	}
	if code, _, stderr := call(t, fromEnv(env), "state"); code != 2 || !strings.Contains(stderr, "export or import") {
		t.Errorf("state alone: exit %d: %s", code, stderr)
	}

	held, err := state.Open(dir, state.Options{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, stderr := call(t, fromEnv(env), "state", "import", "--from", write(`{"version": 1}`))
	if code != 1 || !strings.Contains(stderr, "is in use by another process") || !strings.Contains(stderr, "a running pooltasks scheduler holds it") {
		t.Errorf("import into a held directory: exit %d: %s", code, stderr)
	}
}
