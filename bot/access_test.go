package bot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// TestRateSurvivesManyUsers: once 10,000 users were seen, forgetting some
// must not hand a user who spent their budget a fresh one.
func TestRateSurvivesManyUsers(t *testing.T) {
	a := newAccess(Config{UserRate: 2})
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := range maxRateUsers - 1 {
		if ok, _ := a.allow(fmt.Sprintf("U%d", i), t0); !ok {
			t.Fatalf("user %d refused on a first command", i)
		}
	}
	now := t0.Add(time.Minute) // their buckets have refilled
	for range 2 {
		if ok, _ := a.allow("UBUSY", now); !ok {
			t.Fatal("UBUSY refused within its budget")
		}
	}
	if ok, _ := a.allow("UNEW", now); !ok { // the 10,001st user: a sweep
		t.Fatal("a new user refused")
	}
	if ok, wait := a.allow("UBUSY", now); ok {
		t.Error("UBUSY got a fresh budget when idle users were forgotten")
	} else if wait <= 0 || wait > 30*time.Second {
		t.Errorf("UBUSY told to wait %v, want up to 30 s", wait)
	}
	if n := len(a.commands.limiters); n != 2 {
		t.Errorf("%d limiters kept, want UBUSY's and UNEW's", n)
	}
}

// TestIdleLimitersForgotten: the limiters of users who went quiet are
// forgotten within about a minute, however few there are.
func TestIdleLimitersForgotten(t *testing.T) {
	a := newAccess(Config{UserRate: 2})
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		a.allow(fmt.Sprintf("U%d", i), t0)
	}
	a.allow("U1", t0.Add(2*time.Minute))
	if n := len(a.commands.limiters); n != 1 {
		t.Errorf("%d limiters kept two minutes later, want U1's", n)
	}
}

// TestSlackErrorHidesURLs: what a user is told of a failed post never
// quotes a response_url (it lets its holder post as the app).
func TestSlackErrorHidesURLs(t *testing.T) {
	hook := "https://hooks.slack.com/actions/T1/123/secretpart"
	for _, c := range []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Post", URL: hook, Err: errors.New("connection reset by peer")}, "Slack could not be reached"},
		{slack.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}, "Slack answered HTTP 502"},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, "not_in_channel"},
	} {
		err, want := c.err, c.want
		if got := slackError(err); got != want || strings.Contains(got, "secretpart") {
			t.Errorf("slackError(%v) = %q, want %q", err, got, want)
		}
		if got := logSafe(err); strings.Contains(got, "secretpart") {
			t.Errorf("logSafe(%T) = %q", err, got)
		}
	}
}
