// Package notifytest has fakes for testing notify and its callers: a
// controllable clock, a Slack poster that records what it is sent and a
// task lister that keeps tasks in memory and filters and pages like the API.
package notifytest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/slack-go/slack"
)

// Clock is a fake clock: time moves only by Advance or Set.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced when waiters change
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t, changed: make(chan struct{})} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the time once the clock has been
// moved d ahead.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), c: ch})
	c.signalLocked()
	return ch
}

func (c *Clock) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock d ahead and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t and fires the timers that are due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.c <- t
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	c.signalLocked()
}

// Waiters returns how many timers are pending.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Next returns the time of the earliest pending timer.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return time.Time{}, false
	}
	next := c.waiters[0].at
	for _, w := range c.waiters[1:] {
		if w.at.Before(next) {
			next = w.at
		}
	}
	return next, true
}

// BlockUntil waits until at least n timers are pending, failing the test
// after 10 s of real time.
func (c *Clock) BlockUntil(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		k, ch := len(c.waiters), c.changed
		c.mu.Unlock()
		if k >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("clock: %d timers pending after 10s, want %d", k, n)
		}
	}
}

// Post is a message a Poster received.
type Post struct {
	Channel  string
	ThreadTS string // for posts: the thread; for updates: empty
	TS       string // for posts: the ts given back; for updates: the ts updated
	Text     string
	Blocks   []slack.Block
	Update   bool
	Record   loop.Record // what PostRecorded attached; zero for PostMessage
	At       time.Time   // the Poster's clock when it was received
}

// Poster records posts and updates. Set Fail to make calls fail.
type Poster struct {
	Clock interface{ Now() time.Time } // optional: stamps At

	mu      sync.Mutex
	calls   []Post
	seq     int
	changed chan struct{}
	// Fail, when set, is asked before each call; a non-nil error is returned.
	Fail func(p Post) error
	// HistoryErr, when set, is what FindRecorded returns.
	HistoryErr error
	history    int // FindRecorded calls
}

// NewPoster returns a recording poster stamping calls with clock (may be nil).
func NewPoster(clock interface{ Now() time.Time }) *Poster {
	return &Poster{Clock: clock, changed: make(chan struct{})}
}

func (p *Poster) record(c Post) (Post, error) {
	if p.Clock != nil {
		c.At = p.Clock.Now()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	if p.Fail != nil {
		if err := p.Fail(c); err != nil {
			return c, err
		}
	}
	if !c.Update {
		p.seq++
		c.TS = fmt.Sprintf("1700000000.%06d", p.seq)
	}
	p.calls = append(p.calls, c)
	close(p.changed)
	p.changed = make(chan struct{})
	return c, nil
}

// PostMessage records a post and returns a new ts.
func (p *Poster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	c, err := p.record(Post{Channel: channel, ThreadTS: threadTS, Text: text, Blocks: blocks})
	return c.TS, err
}

// PostRecorded records a post carrying rec and returns a new ts.
func (p *Poster) PostRecorded(ctx context.Context, channel string, rec loop.Record, text string, blocks []slack.Block) (string, error) {
	c, err := p.record(Post{Channel: channel, ThreadTS: rec.Thread, Text: text, Blocks: blocks, Record: rec})
	return c.TS, err
}

// FindRecorded returns the ts of the first post in channel (in the thread
// rec.Thread) carrying rec (any time: the recorder's clock may not be the
// caller's), or HistoryErr.
func (p *Poster) FindRecorded(ctx context.Context, channel string, rec loop.Record, since time.Time) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.history++
	if p.HistoryErr != nil {
		return "", p.HistoryErr
	}
	for _, c := range p.calls {
		if !c.Update && c.Channel == channel && c.Record == rec {
			return c.TS, nil
		}
	}
	return "", nil
}

// HistoryReads is how many times FindRecorded was called.
func (p *Poster) HistoryReads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.history
}

// UpdateMessage records an update.
func (p *Poster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	_, err := p.record(Post{Channel: channel, TS: ts, Text: text, Blocks: blocks, Update: true})
	return err
}

// Calls returns every call so far, in order.
func (p *Poster) Calls() []Post {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Post(nil), p.calls...)
}

// Posts returns the posts (not the updates) so far.
func (p *Poster) Posts() []Post {
	var out []Post
	for _, c := range p.Calls() {
		if !c.Update {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until at least n calls were recorded, failing the test
// after 10 s of real time, and returns them.
func (p *Poster) WaitCalls(t testing.TB, n int) []Post {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		k, ch := len(p.calls), p.changed
		p.mu.Unlock()
		if k >= n {
			return p.Calls()
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("poster: %d calls after 10s, want %d", k, n)
		}
	}
}

// Lister keeps tasks in memory and answers ListTasks like the API: the
// filters, offset/limit (default 10, at most 100) and the total.
type Lister struct {
	mu      sync.Mutex
	tasks   map[string]pooltask.Task
	records []pooltask.Record
	calls   []pooltask.ListOptions
	// Err, when set, is returned by every call.
	Err error
}

// NewLister returns a lister holding tasks.
func NewLister(tasks ...pooltask.Task) *Lister {
	l := &Lister{tasks: map[string]pooltask.Task{}}
	l.Put(tasks...)
	return l
}

// Put adds or replaces tasks.
func (l *Lister) Put(tasks ...pooltask.Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tasks {
		l.tasks[t.ID] = t
	}
}

// PutRecords adds per-desktop records, which ListRecords and GetRecord
// answer with.
func (l *Lister) PutRecords(recs ...pooltask.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, recs...)
}

// ListRecords answers like GET …/script-execution-records: by task and
// status, paged, without the output.
func (l *Lister) ListRecords(_ context.Context, o pooltask.RecordOptions) (pooltask.RecordPage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return pooltask.RecordPage{}, l.Err
	}
	var match []pooltask.Record
	for _, r := range l.records {
		if (o.TaskID == "" || r.TaskID == o.TaskID) && (o.Status == "" || r.Status == o.Status) {
			r.Output = ""
			match = append(match, r)
		}
	}
	limit := cmp.Or(o.Limit, 10)
	page := pooltask.RecordPage{Total: len(match)}
	if o.Offset < len(match) {
		page.Records = match[o.Offset:min(o.Offset+limit, len(match))]
	}
	return page, nil
}

// GetRecord answers like GET …/script-execution-records/{id}, output
// included; an unknown id is the API's 404.
func (l *Lister) GetRecord(_ context.Context, id string) (pooltask.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.ID == id {
			return r, nil
		}
	}
	return pooltask.Record{}, &pooltask.APIError{Status: 404, Code: "WKS.0404", Message: "record not found"}
}

// FailedRecords returns n failed records of t, on desktops NAME-01…,
// the first two with reason "disk C: full", the rest "agent did not
// start", each with 30 lines of output.
func FailedRecords(t pooltask.Task, n int) []pooltask.Record {
	var out []pooltask.Record
	for i := range n {
		reason := "agent did not start"
		if i < 2 {
			reason = "disk C: full"
		}
		var lines []string
		for j := range 30 {
			lines = append(lines, fmt.Sprintf("%s step %02d", t.ID[:8], j+1))
		}
		out = append(out, pooltask.Record{ID: fmt.Sprintf("%s-rec-%02d", t.ID[:8], i+1), TaskID: t.ID, DesktopName: fmt.Sprintf("%s-%02d", t.PoolName, i+1),
			Status: "FAILED", ResultCode: "1", Reason: reason, Output: strings.Join(lines, "\n")})
	}
	return out
}

// Delete removes tasks, as when the API stops returning them.
func (l *Lister) Delete(ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.tasks, id)
	}
}

// Calls returns the options of every ListTasks call so far.
func (l *Lister) Calls() []pooltask.ListOptions {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pooltask.ListOptions(nil), l.calls...)
}

// ListTasks answers like GET …/script-execution-tasks/detail, newest first.
func (l *Lister) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, o)
	if l.Err != nil {
		return pooltask.TaskPage{}, l.Err
	}
	if o.Limit < 0 || o.Limit > 100 {
		return pooltask.TaskPage{}, &pooltask.APIError{Status: 400, Code: "WKS.0001", Message: "invalid limit"}
	}
	ids := map[string]bool{}
	for _, id := range o.TaskIDs {
		ids[id] = true
	}
	var match []pooltask.Task
	for _, t := range l.tasks {
		switch {
		case o.PoolID != "" && t.PoolID != o.PoolID,
			!o.Status.Matches(t.Status),
			o.TaskType == pooltask.TaskTypeScript && len(t.Scripts) == 0,
			o.TaskType == pooltask.TaskTypeCommand && len(t.Scripts) > 0,
			!o.Start.IsZero() && t.Start.Before(o.Start),
			!o.End.IsZero() && t.Start.After(o.End),
			len(ids) > 0 && !ids[t.ID]:
			continue
		}
		match = append(match, t)
	}
	sort.Slice(match, func(i, j int) bool {
		if !match[i].Start.Equal(match[j].Start) {
			return match[i].Start.After(match[j].Start)
		}
		return match[i].ID < match[j].ID
	})
	limit := o.Limit
	if limit == 0 {
		limit = 10
	}
	page := pooltask.TaskPage{Total: len(match)}
	if o.Offset < len(match) {
		page.Tasks = match[o.Offset:min(o.Offset+limit, len(match))]
	}
	return page, nil
}

// ResolvePool applies the one pool rule (workspace.ResolvePool) to the
// pools of the tasks it holds, as the pools API would list them.
func (l *Lister) ResolvePool(_ context.Context, value string) pooltask.Resolution {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var pools []pooltask.Pool
	for _, t := range l.tasks {
		if !seen[t.PoolID] {
			seen[t.PoolID] = true
			pools = append(pools, pooltask.Pool{ID: t.PoolID, Name: t.PoolName})
		}
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].ID < pools[j].ID })
	return workspace.ResolvePool(pools, value)
}

// FireNext moves the clock to its earliest pending timer and returns how
// many timers fired (0 when none was pending).
func (c *Clock) FireNext() int {
	next, ok := c.Next()
	if !ok {
		return 0
	}
	before := c.Waiters()
	c.Set(next)
	return before - c.Waiters()
}

// DropWaiters forgets every pending timer without firing it, as when the
// process that set them ends: tests call it after stopping one scheduler
// and before starting the next on the same clock.
func (c *Clock) DropWaiters() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiters = nil
	c.signalLocked()
}

// Task is a task of pool (id "pool-"+pool) that started at start with
// failed desktops out of 10, running scripts, or an echo command when none
// is given; an ended task ended five minutes after its start.
func Task(id, pool string, status pooltask.TaskStatus, start time.Time, failed int, scripts ...string) pooltask.Task {
	t := pooltask.Task{ID: id, PoolID: "pool-" + pool, PoolName: pool, Status: status, Start: start, FailedNum: failed, SuccessNum: 10 - failed}
	for _, s := range scripts {
		t.Scripts = append(t.Scripts, pooltask.Script{ID: "s-" + s, Name: s})
	}
	if len(scripts) == 0 {
		t.CommandContent, t.CommandType = "echo hi", "SHELL"
	}
	if status.Ended() {
		t.End = start.Add(5 * time.Minute)
	}
	return t
}

// BlocksJSON is blocks as JSON without HTML escaping, so that "<@U1>" in
// a test reads as in Slack.
func BlocksJSON(t testing.TB, blocks []slack.Block) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	// slack-go marshals some nested elements itself, with HTML escaping.
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String())
}

// Run runs f in a goroutine until the test ends (or stop is called): stop
// cancels f's ctx and waits for f to return, which must be with nil.
func Run(t testing.TB, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return 10s after its ctx ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

// OpenStore opens the state store in dir.
func OpenStore(t testing.TB, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Saved returns the watches saved in s, failing t when s cannot say.
func Saved(t testing.TB, s interface {
	Watches(context.Context) ([]state.Watch, error)
}) []state.Watch {
	t.Helper()
	ws, err := s.Watches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// BreakDir makes the state directory dir refuse every save until mend is
// called: the directory is gone, which refuses even root (a read-only mode
// does not).
func BreakDir(t testing.TB, dir string) (mend func()) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// NamedPools is a Lister whose pools API knows every pool Task makes: the
// name NAME is the pool pool-NAME, even with no task; "nowhere" names none.
type NamedPools struct{ *Lister }

// ResolvePool resolves value as the pools API described would.
func (NamedPools) ResolvePool(_ context.Context, value string) pooltask.Resolution {
	switch {
	case strings.HasPrefix(value, "pool-"):
		return pooltask.Resolution{Value: value, ID: value}
	case value == "nowhere":
		return pooltask.Resolution{Value: value}
	}
	return pooltask.Resolution{Value: value, ID: "pool-" + value, Name: value}
}

// FlakyPools is NamedPools whose pools API does not answer for
// finance-win11.
type FlakyPools struct{ NamedPools }

// ResolvePool fails for finance-win11 as a pools API that is down does.
func (f FlakyPools) ResolvePool(ctx context.Context, value string) pooltask.Resolution {
	if value == "finance-win11" {
		return pooltask.Resolution{Value: value, ID: value, LookupErr: errors.New("listing pools: 503 Service Unavailable")}
	}
	return f.NamedPools.ResolvePool(ctx, value)
}

// CancelingPoster calls During while it posts (to end a ctx, as SIGTERM
// does), then fails as slack-go does when the post's ctx ended.
type CancelingPoster struct {
	*Poster
	During func()
}

// PostMessage calls During, then posts unless ctx ended.
func (p *CancelingPoster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	p.During()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return p.Poster.PostMessage(ctx, channel, threadTS, text, blocks)
}

// PostRecorded calls During, then posts unless ctx ended.
func (p *CancelingPoster) PostRecorded(ctx context.Context, channel string, rec loop.Record, text string, blocks []slack.Block) (string, error) {
	p.During()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return p.Poster.PostRecorded(ctx, channel, rec, text, blocks)
}

// Buffer is a child process's stderr, read while the child writes it.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
