package watchapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/pooltask"
)

const internalToken = "internal-token-4f1c2a9e"

// remoteSetup is a Watches served by WatchHandler on a loopback server, and
// a RemoteWatches calling it.
type remoteSetup struct {
	watches *watch.Watches
	lister  *notifytest.Lister
	poster  *notifytest.Poster
	store   *state.Store
	srv     *httptest.Server
	remote  *Remote
	task    pooltask.Task
}

// newRemoteSetup builds the setup; prepare, when not nil, changes the
// fakes before the server starts.
func newRemoteSetup(t *testing.T, cfg watch.Config, prepare ...func(*remoteSetup)) *remoteSetup {
	t.Helper()
	clock := notifytest.NewClock(day0)
	tk := notifytest.Task("eeeeeeee-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusRunning, day0.Add(-time.Minute), 0, "install-agent")
	s := &remoteSetup{lister: notifytest.NewLister(tk), poster: notifytest.NewPoster(clock), store: openStore(t), task: tk}
	if cfg.Every == 0 {
		cfg.Every = 15 * time.Second
	}
	for _, p := range prepare {
		p(s)
	}
	s.watches = watch.New(cfg, loop.Deps{Lister: s.lister, Poster: s.poster, Clock: clock}, s.store)
	t.Cleanup(s.watches.Close)
	s.srv = httptest.NewServer(Handler(s.watches, internalToken))
	t.Cleanup(s.srv.Close)
	s.remote = NewRemote(s.srv.URL+"/", internalToken, nil)
	return s
}

// post sends body to path with an Authorization header (none when empty).
func (s *remoteSetup) post(t *testing.T, path, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWatchHandlerRefusesWithoutToken(t *testing.T) {
	s := newRemoteSetup(t, watch.Config{})
	body := `{"task_id":"` + s.task.ID + `","channel":"C1","user_id":"U1"}`
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong-token", "Basic " + internalToken, internalToken, "Bearer " + internalToken + "x"} {
		for _, path := range []string{StartPath, StopPath, ActPath} {
			if code := s.post(t, path, auth, body); code != http.StatusUnauthorized {
				t.Errorf("%s with Authorization %q: status %d, want 401", path, auth, code)
			}
		}
	}
	// A scheduler without a token accepts nothing, not even an empty bearer.
	open := httptest.NewServer(Handler(s.watches, ""))
	t.Cleanup(open.Close)
	for _, auth := range []string{"", "Bearer ", "Bearer " + internalToken} {
		req, _ := http.NewRequest(http.MethodPost, open.URL+StartPath, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := open.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("empty token, Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
	if n := len(s.poster.Calls()); n != 0 || s.watches.Active() != 0 || len(s.lister.Calls()) != 0 {
		t.Errorf("refused requests did work: %d posts, %d active, %d API calls", n, s.watches.Active(), len(s.lister.Calls()))
	}
	// A client with the wrong token says so without showing it.
	bad := NewRemote(s.srv.URL, "wrong-token", nil)
	_, err := bad.StartWatch(context.Background(), s.task.ID, "", "C1", "", "U1")
	if err == nil || !strings.Contains(err.Error(), "POOLTASKS_INTERNAL_TOKEN") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestRemoteWatchesRoundTrip(t *testing.T) {
	s := newRemoteSetup(t, watch.Config{})
	id, err := s.remote.StartWatch(context.Background(), s.task.ID, "", "C1", "1699999999.000100", "U42")
	if err != nil {
		t.Fatal(err)
	}
	first := s.poster.WaitCalls(t, 1)[0]
	if first.Update || first.Channel != "C1" || first.ThreadTS != "1699999999.000100" {
		t.Errorf("first call %+v", first)
	}
	if js := notifytest.BlocksJSON(t, first.Blocks); !strings.Contains(js, `"value":"`+id+`"`) {
		t.Errorf("the Stop button does not carry the watch id %q: %s", id, js)
	}
	if got := notifytest.Saved(t, s.store); len(got) != 1 || got[0].ID != id || got[0].UserID != "U42" {
		t.Errorf("saved watches %+v", got)
	}
	if err := s.remote.StopWatch(id, "U7"); err != nil {
		t.Fatal(err)
	}
	calls := s.poster.WaitCalls(t, 2)
	if !calls[1].Update || !strings.Contains(notifytest.BlocksJSON(t, calls[1].Blocks), "Stopped by <@U7>") {
		t.Errorf("final update %+v", calls[1])
	}
	s.watches.Close() // waits for the loop, which forgets the watch
	if n := len(notifytest.Saved(t, s.store)); n != 0 {
		t.Errorf("%d watches saved after Stop", n)
	}
}

func TestRemoteWatchesErrors(t *testing.T) {
	ctx := context.Background()
	s := newRemoteSetup(t, watch.Config{MaxActive: 1})
	if _, err := s.remote.StartWatch(ctx, s.task.ID, "", "C1", "", "U1"); err != nil {
		t.Fatal(err)
	}
	// Each error reads as the local one and matches the same sentinel.
	// (C2: in C1 the task is watched already, which is not an error of
	// capacity; see TestRemoteWatchesAlreadyWatching.)
	_, err := s.remote.StartWatch(ctx, s.task.ID, "", "C2", "", "U1")
	if !errors.Is(err, watch.ErrTooManyWatches) || err.Error() != watch.ErrTooManyWatches.Error() {
		t.Errorf("second watch over MaxActive 1: %v", err)
	}
	err = s.remote.StopWatch("w0000000000000000", "U1")
	if !errors.Is(err, watch.ErrWatchNotFound) || err.Error() != watch.ErrWatchNotFound.Error() {
		t.Errorf("stopping an unknown watch: %v", err)
	}

	s = newRemoteSetup(t, watch.Config{})
	_, err = s.remote.StartWatch(ctx, "ffffffff-0000-0000-0000-000000000000", "", "C1", "", "U1")
	if !errors.Is(err, watch.ErrTaskNotFound) || !strings.Contains(err.Error(), "no task with that id") {
		t.Errorf("unknown task: %v", err)
	}
	s.watches.Close()
	_, err = s.remote.StartWatch(ctx, s.task.ID, "", "C1", "", "U1")
	if !errors.Is(err, watch.ErrWatchesClosed) {
		t.Errorf("closed: %v", err)
	}

	s = newRemoteSetup(t, watch.Config{}, func(s *remoteSetup) {
		s.lister.Err = &pooltask.APIError{Status: 403, Code: "WKS.0403", Message: "Policy doesn't allow it", RequestID: "req-1"}
	})
	_, err = s.remote.StartWatch(ctx, s.task.ID, "", "C1", "", "U1")
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "WKS.0403" || ae.Message != "Policy doesn't allow it" || ae.RequestID != "req-1" {
		t.Errorf("API error: %v", err)
	}

	s = newRemoteSetup(t, watch.Config{}, func(s *remoteSetup) {
		s.poster.Fail = func(notifytest.Post) error { return errors.New("slack: not_in_channel") }
	})
	if _, err = s.remote.StartWatch(ctx, s.task.ID, "", "C1", "", "U1"); err == nil || !strings.Contains(err.Error(), "not_in_channel") {
		t.Errorf("Slack refusing the post: %v", err)
	}
}

func TestWatchHandlerBadRequests(t *testing.T) {
	s := newRemoteSetup(t, watch.Config{})
	auth := "Bearer " + internalToken
	big := `{"task_id":"` + s.task.ID + `","channel":"C1","user_id":"U1","thread_ts":"` + strings.Repeat("1", maxWatchBody) + `"}`
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{StartPath, big, http.StatusRequestEntityTooLarge},
		{StartPath, `{"task_id":`, http.StatusBadRequest},
		{StartPath, `{"channel":"C1","user_id":"U1"}`, http.StatusBadRequest},
		{StopPath, `{"watch_id":"w1"}`, http.StatusBadRequest},
		{"/internal/watches/other", `{}`, http.StatusNotFound},
	} {
		if code := s.post(t, tc.path, auth, tc.body); code != tc.want {
			t.Errorf("%s %.40s: status %d, want %d", tc.path, tc.body, code, tc.want)
		}
	}
	if n := len(s.poster.Calls()); n != 0 || s.watches.Active() != 0 {
		t.Errorf("bad requests did work: %d posts, %d active", n, s.watches.Active())
	}
}

func TestRemoteWatchesUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	r := NewRemote(url, internalToken, nil)
	_, err := r.StartWatch(context.Background(), "t1", "", "C1", "", "U1")
	if !errors.Is(err, ErrSchedulerUnreachable) {
		t.Fatalf("start: %v, want ErrSchedulerUnreachable", err)
	}
	if err := r.StopWatch("w1", "U1"); !errors.Is(err, ErrSchedulerUnreachable) {
		t.Errorf("stop: %v, want ErrSchedulerUnreachable", err)
	}
	if s := err.Error(); strings.Contains(s, strings.TrimPrefix(url, "http://")) || strings.Contains(s, internalToken) {
		t.Errorf("the message shows the address or the token: %q", s)
	}

	// Something else answering (a proxy's 502 page) is no better.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	t.Cleanup(other.Close)
	if _, err := NewRemote(other.URL, internalToken, nil).StartWatch(context.Background(), "t1", "", "C1", "", "U1"); !errors.Is(err, ErrSchedulerUnreachable) {
		t.Errorf("a proxy's error page: %v, want ErrSchedulerUnreachable", err)
	}
}

// TestRemoteWatchesAlreadyWatching: a start the scheduler already runs (a
// retry after a start that timed out here went through there) answers the
// running watch, as Watches.Start does, and starts nothing.
func TestRemoteWatchesAlreadyWatching(t *testing.T) {
	ctx := context.Background()
	s := newRemoteSetup(t, watch.Config{})
	id, err := s.remote.StartWatch(ctx, s.task.ID, "", "C1", "1699999999.000100", "U1")
	if err != nil {
		t.Fatal(err)
	}
	first := s.poster.WaitCalls(t, 1)[0]
	again, err := s.remote.StartWatch(ctx, s.task.ID, "", "C1", "1699999999.000100", "U2")
	var aw *watch.AlreadyWatchingError
	if !errors.Is(err, watch.ErrAlreadyWatching) || !errors.As(err, &aw) || again != id || err.Error() != watch.ErrAlreadyWatching.Error() {
		t.Fatalf("second start: %q, %v; want %q and watch.ErrAlreadyWatching", again, err, id)
	}
	if want := (watch.AlreadyWatchingError{WatchID: id, Channel: "C1", ThreadTS: "1699999999.000100", MessageTS: first.TS}); *aw != want {
		t.Errorf("already watching %+v, want %+v", *aw, want)
	}
	if n := len(s.poster.Calls()); n != 1 || s.watches.Active() != 1 || len(notifytest.Saved(t, s.store)) != 1 {
		t.Errorf("%d calls, %d active, %d saved; want 1 each", n, s.watches.Active(), len(notifytest.Saved(t, s.store)))
	}
	// Without the watch in the answer (an older scheduler, a bug), it is
	// still the sentinel.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusConflict, errorBody{Code: "already_watching", Error: watch.ErrAlreadyWatching.Error()})
	}))
	t.Cleanup(other.Close)
	if _, err := NewRemote(other.URL, internalToken, nil).StartWatch(ctx, "t1", "", "C1", "", "U1"); !errors.Is(err, watch.ErrAlreadyWatching) {
		t.Errorf("already_watching without the watch: %v", err)
	}
}

var day0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *state.Store {
	t.Helper()
	s, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRemoteActedOnWatch: an action taken on a watch's message that reaches
// a responder is handed to the scheduler's watch, which shows it and saves
// it; a message no watch has is the responder's to edit (false).
func TestRemoteActedOnWatch(t *testing.T) {
	s := newRemoteSetup(t, watch.Config{Actions: []pooltask.Action{pooltask.ActionStop}})
	if _, err := s.remote.StartWatch(context.Background(), s.task.ID, "", "C1", "", "U42"); err != nil {
		t.Fatal(err)
	}
	first := s.poster.WaitCalls(t, 1)[0]
	act := state.WatchAct{Action: string(pooltask.ActionStop), Actor: "U7", At: day0, Outcome: "done"}
	if s.remote.ActedOnWatch(context.Background(), "C1", "9.9", act) {
		t.Error("ActedOnWatch found a watch for another message")
	}
	if !s.remote.ActedOnWatch(context.Background(), "C1", first.TS, act) {
		t.Fatal("ActedOnWatch found no watch for its message")
	}
	if up := s.poster.WaitCalls(t, 2)[1]; !up.Update || up.TS != first.TS || !strings.Contains(notifytest.BlocksJSON(t, up.Blocks), "Stopped by <@U7>") {
		t.Errorf("update %+v %s", up, notifytest.BlocksJSON(t, up.Blocks))
	}
	if got := notifytest.Saved(t, s.store); len(got) != 1 || got[0].Act == nil || got[0].Act.Actor != "U7" {
		t.Errorf("saved watches %+v", got)
	}
	if code := s.post(t, ActPath, "Bearer "+internalToken, `{"channel":"C1","message_ts":"`+first.TS+`"}`); code != http.StatusBadRequest {
		t.Errorf("act without an action: status %d, want 400", code)
	}
}
