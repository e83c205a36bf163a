// Package bot is the Slack side of pooltasks: it holds the socket-mode
// connection, acknowledges every envelope at once, and answers /pooltasks
// commands, @pooltasks mentions and button clicks from a bounded pool of
// workers, rendering Workspace API answers with bot/blocks.
//
// Everything a user sends, typed or clicked, goes through commands.Parse and
// the same access checks before any API call is made.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/net/netutil"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/targets"
)

// Bot answers Slack. Build it with New and start it with Run.
type Bot struct {
	cfg     Config
	targets *targets.Set
	log     *slog.Logger
	metrics *Metrics
	api     *slack.Client
	sm      *socketmode.Client

	queue     chan *request
	busySlots chan struct{}
	busyDone  sync.WaitGroup // "busy" answers in flight; Run waits for them
	ready     atomic.Bool

	dedupe  *seen
	access  *access
	act     *actor
	refused sync.Map // team id → true once Slack refused native blocks there

	httpLn net.Listener // set by New when cfg.HTTPAddr is given
}

// New checks the configuration and prepares a bot that answers from the
// targets ts (targets.One for a single Workspace client); nothing connects
// before Run. The HTTP address, when given, is bound here so that a busy
// port fails early.
func New(cfg Config, ts *targets.Set) (*Bot, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("bot config: %w", err)
	}
	if ts == nil {
		return nil, errors.New("bot config: no workspace client")
	}
	api := cfg.Slack
	if api == nil {
		api = NewSlackClient(cfg.AppToken, cfg.BotToken, cfg.APIURL)
	}
	b := &Bot{
		cfg:       cfg,
		targets:   ts,
		log:       slog.New(NewLogHandler(cfg.Logger.Handler())),
		metrics:   cfg.Metrics,
		api:       api,
		sm:        socketmode.New(api, socketmode.OptionLog(slogAdapter{cfg.Logger})),
		queue:     make(chan *request, cfg.Queue),
		busySlots: make(chan struct{}, 16),
		dedupe:    newSeen(cfg.DedupeWindow, cfg.Now),
		access:    newAccess(cfg),
	}
	b.act = &actor{
		runner:  &act.Runner{Store: cfg.Actions.Store, Now: cfg.Now},
		ops:     newOperators(cfg.Actions.Operators, func(ctx context.Context, g string) ([]string, error) { return api.GetUserGroupMembersContext(ctx, g) }, cfg.Now),
		budgets: newBudgets(cfg.Actions.Rate),
		timers:  map[string]*time.Timer{},
	}
	// An action goes to its task's target (act.Request.Target, "" with
	// one target).
	b.act.runner.API = func(target string) act.API { return cfg.Actions.API(b.targetName(target)) }
	b.act.runner.Unrecorded = func(in state.ActionIntent, err error) {
		b.log.Warn("recording an action's outcome", "key", in.Key, "outcome", in.Outcome, "err", err)
	}
	if cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("bot http: %w", err)
		}
		b.httpLn = netutil.LimitListener(ln, httpLimits.conns)
	}
	return b, nil
}

// httpLimits bound what a client of the HTTP server can hold: /healthz,
// /readyz and /metrics are unauthenticated, so a client that announces a
// body and sends it a byte at a time must not keep a goroutine and a file
// descriptor for long, nor can many such clients take every connection
// for long. Beyond conns connections, the next waits in the listen backlog
// until one ends. read bounds a request, headers and body; write, its
// answer (above the 20 s a forwarded watch start may take, see
// bot/notify/watchapi); idle, a kept-alive connection between requests.
// Bodies are bounded by body (the watch API's requests are well under 1 KB).
var httpLimits = struct {
	conns                     int
	header, read, write, idle time.Duration
	body                      int64
}{
	conns:  64,
	header: 5 * time.Second,
	read:   10 * time.Second,
	write:  30 * time.Second,
	idle:   60 * time.Second,
	body:   64 << 10,
}

// NewSlackClient returns the Slack client the bot uses: socket mode with
// appToken, Web API calls with botToken at apiURL (https://slack.com/api/
// when empty). Each HTTP attempt is bounded by 15 s, and slack-go retries an
// answer 429 up to three times, after Slack's Retry-After and within the
// call's ctx. cmd shares it with bot/notify's poster through Config.Slack.
func NewSlackClient(appToken, botToken, apiURL string) *slack.Client {
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	return slack.New(botToken,
		slack.OptionAppLevelToken(appToken),
		slack.OptionAPIURL(apiURL),
		slack.OptionHTTPClient(&http.Client{Transport: slackTransport(), Timeout: 15 * time.Second}),
		slack.OptionRetry(3), // after OptionHTTPClient, which it wraps
		// No slack.OptionDebug: it dumps whole HTTP exchanges, headers
		// included, whatever LOG_LEVEL says.
	)
}

// slackTransport is http.DefaultTransport's setup keeping enough idle
// connections to Slack for the workers and notify: with the default of two
// per host, a burst of answers dialled (and then closed) a new connection
// for about one answer in three.
func slackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}

// HTTPAddr is the address /healthz, /readyz and /metrics are served on, or
// "" without one.
func (b *Bot) HTTPAddr() string {
	if b.httpLn == nil {
		return ""
	}
	return b.httpLn.Addr().String()
}

// Ready reports whether the socket-mode connection is up.
func (b *Bot) Ready() bool { return b.ready.Load() }

// Handler serves /healthz, /readyz, /metrics and cfg.Routes.
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !b.Ready() {
			http.Error(w, "socket mode not connected", http.StatusServiceUnavailable)
			return
		}
		if b.cfg.Ready != nil {
			if err := b.cfg.Ready(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if b.cfg.Degraded != nil {
			if why := b.cfg.Degraded(); why != "" {
				_, _ = w.Write([]byte("degraded: " + why + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", b.metrics.Handler())
	for pattern, h := range b.cfg.Routes {
		mux.Handle(pattern, h)
	}
	return mux
}

// Run connects to Slack and answers until ctx ends. Then it stops taking
// work, lets acked jobs finish within cfg.ShutdownTimeout and returns nil.
// It returns an error when Slack refuses the tokens.
func (b *Bot) Run(ctx context.Context) error {
	var httpSrv *http.Server
	httpDone := make(chan struct{})
	if b.httpLn != nil {
		httpSrv = &http.Server{
			Handler:           http.MaxBytesHandler(b.Handler(), httpLimits.body),
			ReadHeaderTimeout: httpLimits.header,
			ReadTimeout:       httpLimits.read,
			WriteTimeout:      httpLimits.write,
			IdleTimeout:       httpLimits.idle,
			MaxHeaderBytes:    16 << 10,
		}
		go func() {
			defer close(httpDone)
			if err := httpSrv.Serve(b.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				b.log.Error("http server", "err", err)
			}
		}()
	} else {
		close(httpDone)
	}

	// Jobs outlive ctx by up to ShutdownTimeout: what was acked is answered.
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Go(func() { b.work(jobCtx) })
	}

	smCtx, stopSocket := context.WithCancel(context.Background())
	defer stopSocket()
	// acks ends when ctx does or the socket-mode client stops: an ack
	// waiting for a connection (slack-go queues 20, then blocks) must not
	// hold the reader, and so Run, forever.
	acks, stopAcks := context.WithCancel(ctx)
	defer stopAcks()
	var smErr error
	smDone := make(chan struct{}) // closed when RunContext returned smErr
	go func() {
		defer close(smDone)
		defer stopAcks()
		smErr = b.sm.RunContext(smCtx)
	}()

	runErr := b.loop(ctx, acks, smDone, &smErr)

	// Stop taking work: no more envelopes are read (so none is acked and
	// Slack redelivers them elsewhere), then drain what was acked.
	stopSocket()
	b.ready.Store(false)
	b.metrics.connected.Set(0)
	close(b.queue)
	finished := make(chan struct{})
	go func() { workers.Wait(); b.busyDone.Wait(); close(finished) }()
	timer := time.NewTimer(b.cfg.ShutdownTimeout)
	select {
	case <-finished:
		timer.Stop()
	case <-timer.C:
		b.log.Warn("shutdown deadline reached, cancelling jobs in flight", "timeout", b.cfg.ShutdownTimeout)
		stopJobs()
		<-finished
	}
	<-smDone // the socket-mode client's goroutines are done
	b.act.stopTimers()
	if httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = httpSrv.Shutdown(sctx)
		cancel()
	}
	<-httpDone
	return runErr
}

// loop is the one goroutine that reads socket-mode events: it acks each
// envelope at once (within acks) and hands its work to the queue, so that
// the workers start on an answer as soon as it is acked. It returns nil
// when ctx ends and *smErr when the socket-mode client gives up (smDone
// closed).
func (b *Bot) loop(ctx, acks context.Context, smDone <-chan struct{}, smErr *error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-smDone:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", *smErr)
		case ev := <-b.sm.Events:
			if req := b.handleEvent(acks, ev); req != nil {
				b.enqueue(req)
			}
		}
	}
}

// enqueue hands an acked request to the workers, or answers "busy" when
// the queue is full rather than block the reader (which would stall the
// acks of every envelope).
func (b *Bot) enqueue(req *request) {
	select {
	case b.queue <- req:
	default:
		b.busy(req)
	}
}

// handleEvent acks an envelope (giving up when acks ends) and returns the
// work it asks for, or nil.
func (b *Bot) handleEvent(acks context.Context, ev socketmode.Event) *request {
	start, sentAt := time.Now(), b.cfg.Now()
	switch ev.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		if !b.ready.Swap(true) {
			b.log.Info("socket mode connected")
		}
		b.metrics.connected.Set(1)
		return nil
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect:
		b.ready.Store(false)
		b.metrics.connected.Set(0)
		return nil
	case socketmode.EventTypeConnectionError:
		b.ready.Store(false)
		b.metrics.connected.Set(0)
		if e, ok := ev.Data.(*slack.ConnectionErrorEvent); ok {
			b.log.Warn("socket mode connection failed", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
		return nil
	case socketmode.EventTypeInvalidAuth:
		b.ready.Store(false)
		b.log.Error("socket mode: slack refused the app token")
		return nil
	case socketmode.EventTypeErrorBadMessage:
		// Envelope kinds slack-go does not know still get their ack, or
		// Slack keeps redelivering them.
		if e, ok := ev.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
				Type       string `json:"type"`
			}
			if json.Unmarshal(e.Message, &env) == nil && env.EnvelopeID != "" {
				b.ack(acks, env.EnvelopeID, start)
				b.log.Info("envelope not handled", "type", env.Type, "envelope_id", env.EnvelopeID)
			}
		}
		return nil
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		b.log.Warn("socket mode", "event", string(ev.Type), "data", fmt.Sprint(ev.Data))
		return nil
	}
	if ev.Request == nil || ev.Request.EnvelopeID == "" {
		return nil
	}
	b.ack(acks, ev.Request.EnvelopeID, start)

	req := b.toRequest(ev)
	if req == nil {
		return nil
	}
	req.received, req.sentAt = start, sentAt
	logCtx := withRequest(context.Background(), req)
	if ev.Request.RetryAttempt > 0 {
		b.log.InfoContext(logCtx, "envelope redelivered", "retry_attempt", ev.Request.RetryAttempt,
			"retry_reason", ev.Request.RetryReason)
	}
	if !b.dedupe.first(req.keys...) {
		b.log.InfoContext(logCtx, "envelope already answered")
		return nil
	}
	return req
}

func (b *Bot) ack(ctx context.Context, envelopeID string, start time.Time) {
	if err := b.sm.AckCtx(ctx, envelopeID, nil); err != nil {
		b.log.Warn("ack", "envelope_id", envelopeID, "err", err)
	}
	b.metrics.ack(time.Since(start))
}

// toRequest turns an envelope into work, or nil for envelopes the bot does
// not answer (they are acked all the same).
func (b *Bot) toRequest(ev socketmode.Event) *request {
	envID := ev.Request.EnvelopeID
	switch ev.Type {
	case socketmode.EventTypeSlashCommand:
		c, ok := ev.Data.(slack.SlashCommand)
		if !ok {
			return nil
		}
		return &request{
			kind: kindSlash, envelopeID: envID, keys: []string{envID, "trigger:" + c.TriggerID},
			team: c.TeamID, user: c.UserID, channel: c.ChannelID,
			text: c.Text, responseURL: c.ResponseURL,
		}
	case socketmode.EventTypeInteractive:
		cb, ok := ev.Data.(slack.InteractionCallback)
		if ok && cb.Type == slack.InteractionTypeViewSubmission {
			return viewSubmission(envID, cb)
		}
		if !ok || cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
			return nil
		}
		a := cb.ActionCallback.BlockActions[0]
		value := a.Value
		if a.Type == slack.ActionType(slack.OptTypeStatic) {
			value = a.SelectedOption.Value // the Snooze menu
		}
		channel := cb.Container.ChannelID
		if channel == "" {
			channel = cb.Channel.ID
		}
		team := cb.Team.ID
		if team == "" {
			team = cb.User.TeamID
		}
		return &request{
			kind: kindClick, envelopeID: envID, keys: []string{envID, "trigger:" + cb.TriggerID},
			team: team, user: cb.User.ID, channel: channel,
			actionID: a.ActionID, text: value, responseURL: cb.ResponseURL,
			messageTS: cb.Container.MessageTs, threadTS: cb.Container.ThreadTs,
			publicMessage: !cb.Container.IsEphemeral, triggerID: cb.TriggerID, original: cb.Message.Blocks.BlockSet,
		}
	case socketmode.EventTypeEventsAPI:
		outer, ok := ev.Data.(slackevents.EventsAPIEvent)
		if !ok || outer.Type != slackevents.CallbackEvent {
			return nil
		}
		m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
		if !ok {
			return nil
		}
		keys := []string{envID}
		if cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			keys = append(keys, "event:"+cb.EventID)
		}
		thread := m.ThreadTimeStamp
		if thread == "" {
			thread = m.TimeStamp
		}
		team := outer.TeamID
		return &request{
			kind: kindMention, envelopeID: envID, keys: keys,
			team: team, user: m.User, channel: m.Channel,
			text: stripMention(m.Text), threadTS: thread,
		}
	}
	return nil
}

// work runs jobs until the queue is closed and drained.
func (b *Bot) work(ctx context.Context) {
	for req := range b.queue {
		b.serve(ctx, req)
	}
}

// seen remembers ids so that a redelivered envelope or event is answered
// once, in memory bounded by count as well as by time. Ids are kept in two
// generations: the current one is retired when it is window old or holds
// maxSeen/2 ids, and the one before it is then forgotten. An id is thus
// remembered for at least window, or, when more than maxSeen/2 arrive
// within a window, for at least the time maxSeen/2 ids take to arrive
// (over 7 minutes at 20 commands a second, past Slack's last retry at 5).
// Ids are kept as 64-bit hashes, a few bytes each whatever their length.
type seen struct {
	mu      sync.Mutex
	window  time.Duration
	now     func() time.Time
	seed    maphash.Seed
	cur     map[uint64]struct{}
	old     map[uint64]struct{}
	started time.Time // of cur
}

// maxSeen bounds the ids seen remembers.
const maxSeen = 1 << 15

func newSeen(window time.Duration, now func() time.Time) *seen {
	return &seen{window: window, now: now, seed: maphash.MakeSeed(),
		cur: map[uint64]struct{}{}, started: now()}
}

// first records the keys and reports whether none was seen before.
func (s *seen) first(keys ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	fresh := true
	for _, k := range keys {
		if k == "" || k == "trigger:" || k == "event:" {
			continue
		}
		if age := now.Sub(s.started); age >= s.window || len(s.cur) >= maxSeen/2 {
			s.old = s.cur
			if age >= 2*s.window {
				s.old = nil // all of it is older than the window
			}
			s.cur, s.started = make(map[uint64]struct{}, len(s.cur)), now
		}
		h := maphash.String(s.seed, k)
		_, inCur := s.cur[h]
		_, inOld := s.old[h]
		if inCur || inOld {
			fresh = false
		}
		s.cur[h] = struct{}{}
	}
	return fresh
}

// slogAdapter lets slack-go's socketmode log through slog at debug level.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Output(_ int, s string) error {
	a.l.Debug(s, "component", "socketmode")
	return nil
}
