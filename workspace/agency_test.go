package workspace

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// clock is a settable clock for the agency's renewals.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	tempAK = "TEMPAKTEMPAKTEMPAK01"
	tempSK = "temporary-secret-key-0123456789abcdef01"
	urn    = "iam::0a1b2c3d4e5f60718293a4b5c6d7e8f9:agency:pooltasks-ro"
)

// agencySetup is a fake STS that checks the signature of the bot's own
// demo credentials and issues tempAK/tempSK, a simulator that accepts only
// those, and the security token of every call the simulator got.
func agencySetup(t *testing.T, stsSK string) (*sim.STS, *Client, *clock, func() []string) {
	t.Helper()
	clk := &clock{t: time.Now()}
	fake := &sim.STS{AK: sim.DemoAK, SK: stsSK, Now: clk.Now, TempAK: tempAK, TempSK: tempSK}
	stsSrv := httptest.NewServer(fake)
	t.Cleanup(stsSrv.Close)
	s := sim.New(sim.Options{AK: tempAK, SK: tempSK, Seed: 1})
	var mu sync.Mutex
	var tokens []string
	wsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("X-Security-Token"))
		mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(wsSrv.Close)
	c := newClient(t, wsSrv.URL, func(c *Config) {
		c.ProjectID = sim.DemoProjectID
		c.AK, c.SK = sim.DemoAK, sim.DemoSK
		c.Agency = &Agency{URN: urn, Endpoint: stsSrv.URL, Duration: time.Hour, SessionPolicyIDs: []string{"policy-1"}, Now: clk.Now}
	})
	return fake, c, clk, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(tokens) }
}

// TestAgencyCredentials: the client assumes the agency through STS (the
// SDK's signature of the bot's own AK/SK checked by the fake), signs its
// calls with the temporary credentials, keeps them while they are fresh
// and renews them before they expire: the clock is moved, nothing sleeps.
func TestAgencyCredentials(t *testing.T) {
	fake, c, clk, tokens := agencySetup(t, sim.DemoSK)
	ctx := context.Background()
	list := func() {
		t.Helper()
		if _, err := c.ListTasks(ctx, pooltask.ListOptions{Limit: 1}); err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
	}
	list()
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("STS calls = %d, want 1", len(calls))
	}
	if got := calls[0]; got.URN != urn || got.SessionName != "pooltasks" || got.DurationSeconds != 3600 || !slices.Equal(got.PolicyIDs, []string{"policy-1"}) {
		t.Errorf("AssumeAgency got %+v", got)
	}
	clk.Add(50 * time.Minute) // 10 minutes left: still fresh
	list()
	clk.Add(6 * time.Minute) // 4 minutes left: renewed before they expire
	list()
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("STS calls = %d, want 2 (one renewal)", n)
	}
	if got, want := tokens(), []string{"sts-token-1", "sts-token-1", "sts-token-2"}; !slices.Equal(got, want) {
		t.Errorf("security tokens seen by the API = %v, want %v", got, want)
	}
}

// TestAgencyRefused: STS refusing the bot's own signature fails the call
// with STS's typed error, never retried (a 401 repeated locks the AK), and
// the Workspace API is not called.
func TestAgencyRefused(t *testing.T) {
	fake, c, _, tokens := agencySetup(t, "another-secret-key-0123456789abcdef0123")
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{Limit: 1})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "assuming agency "+urn) {
		t.Fatalf("err = %v, want STS's 401 naming the agency", err)
	}
	if strings.Contains(err.Error(), "canonicalRequest") {
		t.Errorf("err quotes the gateway's canonical request: %v", err)
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("STS issued %d credentials", n)
	}
	if n := len(tokens()); n != 0 {
		t.Errorf("the Workspace API got %d calls", n)
	}
}
