// Package sim is a local simulator of the Huawei Cloud Workspace API parts
// that pooltasks uses: the script execution task list of desktop pools, the
// per-desktop script execution records with their output, the desktop
// pools, and the actions (retry, stop, and runs in stages: actions.go). It is how a newcomer tries pooltasks and how tests and benchmarks
// run without a cloud account.
//
// The simulator is an http.Handler. It checks SDK-HMAC-SHA256 signatures
// exactly as the official SDK computes them (with the demo AK/SK, or those
// given in Options), checks the project id, validates every documented
// parameter and answers errors in the documented body. Its data is generated deterministically from a seed and
// the clock at creation: named pools, scripts and commands, tasks in all four
// statuses over the last seven days, failures with records, reasons and
// output, and a few tasks that progress as the clock advances.
//
// Choices where the API documentation is silent: script_name matches a
// case-insensitive substring of any script name of a task; an unknown
// desktop_pool_id gives an empty list; limit=0 gives no tasks but the
// total_count; execute_time_start/_end compare with a task's start_time
// (inclusive); record statuses are SUCCESS, FAILED, SKIP and RUNNING.
package sim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"golang.org/x/time/rate"
)

// The demo credentials and project id the simulator accepts.
const (
	DemoAK        = "POOLTASKSDEMOAK00000"
	DemoSK        = "pooltasks-demo-secret-key-0000000000000"
	DemoProjectID = "0bec5db98280d2d02fd6c00c2de791ce"
	// SecondProjectID is the project of the second simulated target
	// (pooltasks --sim serves sim-a and sim-b).
	SecondProjectID = "1bec5db98280d2d02fd6c00c2de791cf"
)

// Options configure a simulator. Zero values are sensible defaults.
type Options struct {
	// Now is the clock; default time.Now. Generated data is anchored to
	// Now() at New time and RUNNING/INIT tasks progress as Now advances.
	// The signature's X-Sdk-Date is checked against the real time, since
	// the SDK signs with the real time.
	Now func() time.Time
	// Seed seeds the data generator: the same seed and the same start time
	// give the same data.
	Seed int64
	// Empty starts with no generated tasks (pools still exist), for tests
	// that add their own with PutTask.
	Empty bool
	// Latency is added to every answer, respecting the request context.
	Latency time.Duration
	// RateLimit is the server-side requests per second beyond which the
	// simulator answers 429 APIGW.0308; 0 means unlimited.
	RateLimit float64
	// Burst is the rate limit's burst; 0 means ceil(RateLimit).
	Burst int
	// AK and SK are the credentials whose signatures are accepted; DemoAK
	// and DemoSK when empty (tests that look for leaked secrets use their
	// own).
	AK, SK string
	// ProjectID is the project whose API it serves; DemoProjectID when
	// empty. Simulators of several targets each have their own.
	ProjectID string
}

// Sim is a simulated Workspace API. It is an http.Handler serving the API
// under /v2/{project_id}/...; all its methods are safe for concurrent use.
type Sim struct {
	now      func() time.Time
	start    time.Time
	requests atomic.Int64
	latency  atomic.Int64 // time.Duration
	limiter  *rate.Limiter
	limit    float64
	ak, sk   string
	project  string

	mu       sync.RWMutex
	pools    []pooltask.Pool
	tasks    map[string]*simTask
	order    []*simTask // newest first
	records  map[string]*simRecord
	injected map[string]injectedError
	hang     chan struct{} // nil when not hanging; closed to release

	actions actionState // retry, stop and execute (actions.go)
}

type injectedError struct {
	status    int
	code, msg string
}

// New returns a simulator with generated data (see Options).
func New(opts Options) *Sim {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Sim{
		now:      now,
		start:    now().UTC().Truncate(time.Second),
		tasks:    make(map[string]*simTask),
		records:  make(map[string]*simRecord),
		injected: make(map[string]injectedError),
		ak:       opts.AK,
		sk:       opts.SK,
		project:  cmp.Or(opts.ProjectID, DemoProjectID),
	}
	if s.ak == "" {
		s.ak = DemoAK
	}
	if s.sk == "" {
		s.sk = DemoSK
	}
	s.latency.Store(int64(opts.Latency))
	if opts.RateLimit > 0 {
		burst := opts.Burst
		if burst <= 0 {
			burst = int(math.Ceil(opts.RateLimit))
		}
		s.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), burst)
		s.limit = opts.RateLimit
	}
	g := newGenerator(opts.Seed, s.start)
	if s.project != DemoProjectID {
		// Another project has pools of the same names under ids of its
		// own, as two targets of one bot do.
		for i, id := range g.poolIDs {
			g.poolIDs[i] = id + "-" + s.project[:8]
		}
	}
	s.pools = g.pools()
	s.actions.init(g)
	if !opts.Empty {
		for _, t := range g.tasks() {
			s.insert(t)
		}
	}
	return s
}

// ListenAndServe serves a new simulator on addr until ctx ends, then shuts
// down gracefully. ready, if not nil, gets the base URL
// (http://127.0.0.1:port) once the listener is open.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(url string)) error {
	return Serve(ctx, addr, New(opts), ready)
}

// Projects serves several simulators, each with a project of its own, on
// one address: a request goes to the simulator of the project in its path
// (/v2/{project_id}/…), as one region's endpoint serves every project in
// it; a request of no project among them goes to the first, which
// answers it as the API does.
type Projects []*Sim

// ServeHTTP routes a request by its project.
func (p Projects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	for _, s := range p {
		if s.project == project {
			s.ServeHTTP(w, r)
			return
		}
	}
	p[0].ServeHTTP(w, r)
}

// Serve serves h (a Sim, or Projects) on addr as ListenAndServe does.
func Serve(ctx context.Context, addr string, h http.Handler, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simulator: listening on %s: %w", addr, err)
	}
	// Like every server of pooltasks, bounded in time: a client that
	// stalls mid-request or keeps a connection idle does not hold it.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(BaseURL(ln.Addr()))
	}
	select {
	case err := <-errc:
		return fmt.Errorf("simulator: serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still in flight (a hanging one, say) end with their
		// connections.
		srv.Close()
	}
	<-errc
	return nil
}

// BaseURL turns a listener address into the base URL of the API, using
// 127.0.0.1 for an unspecified host.
func BaseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// PoolList, given to InjectError as the pool, stands for the list of pools
// (GET /v2/{project_id}/desktop-pools): a pools API that fails while the
// task API answers, as when IAM grants one and not the other.
const PoolList = "/desktop-pools"

// InjectError makes the simulator answer requests concerning poolID ("" for
// every request, PoolList for the list of pools) with status and an error
// body carrying code and msg. A request concerns a pool through its
// desktop_pool_id, or through the task of its script_task_id or record.
// Status 0 clears the injection.
func (s *Sim) InjectError(poolID string, status int, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.injected, poolID)
		return
	}
	s.injected[poolID] = injectedError{status: status, code: code, msg: msg}
}

// SetLatency changes the latency added to every answer.
func (s *Sim) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Hang makes requests block until their context ends (on) or releases them
// and stops hanging (off).
func (s *Sim) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hang == nil:
		s.hang = make(chan struct{})
	case !on && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// Requests returns the number of API requests received, on all endpoints,
// rejected ones included.
func (s *Sim) Requests() int64 { return s.requests.Load() }

// Pools returns the desktop pools.
func (s *Sim) Pools() []pooltask.Pool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]pooltask.Pool(nil), s.pools...)
}

// PutPool adds a desktop pool or replaces the one with the same ID.
func (s *Sim) PutPool(p pooltask.Pool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.pools {
		if s.pools[i].ID == p.ID {
			s.pools[i] = p
			return
		}
	}
	s.pools = append(s.pools, p)
}

// Tasks returns the tasks as they are now, newest first.
func (s *Sim) Tasks() []pooltask.Task {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]pooltask.Task, 0, len(s.order))
	for _, t := range s.order {
		out = append(out, t.view(now))
	}
	return out
}

// Records returns the records of a task as they are now, with their output
// (those of desktops that have not started yet are left out).
func (s *Sim) Records(taskID string) []pooltask.Record {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tasks[taskID]
	if t == nil {
		return nil
	}
	var out []pooltask.Record
	for _, r := range t.recs {
		if rv, ok := r.view(now, t.fixed, true); ok {
			out = append(out, rv)
		}
	}
	return out
}

// PutTask adds a task or replaces the one with the same ID, with its
// per-desktop records. The task is served exactly as given; it does not
// progress. Records without an ID get one; their TaskID is set to the
// task's.
func (s *Sim) PutTask(t pooltask.Task, records ...pooltask.Record) {
	st := &simTask{base: t, fixed: true}
	for _, r := range records {
		r.TaskID = t.ID
		if r.ID == "" {
			r.ID = randomUUID()
		}
		st.recs = append(st.recs, &simRecord{rec: r, task: st})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insert(st)
}

// insert adds or replaces a task; the caller holds s.mu (or owns s).
func (s *Sim) insert(t *simTask) {
	if old := s.tasks[t.base.ID]; old != nil {
		for _, r := range old.recs {
			delete(s.records, r.rec.ID)
		}
		for i, o := range s.order {
			if o == old {
				s.order = append(s.order[:i], s.order[i+1:]...)
				break
			}
		}
	}
	s.tasks[t.base.ID] = t
	for _, r := range t.recs {
		s.records[r.rec.ID] = r
	}
	i := 0
	for i < len(s.order) && newer(s.order[i], t) {
		i++
	}
	s.order = append(s.order, nil)
	copy(s.order[i+1:], s.order[i:])
	s.order[i] = t
}

// newer orders tasks newest first, by start time then id.
func newer(a, b *simTask) bool {
	if !a.base.Start.Equal(b.base.Start) {
		return a.base.Start.After(b.base.Start)
	}
	return a.base.ID > b.base.ID
}

// ServeHTTP serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	w.Header().Set("X-Request-Id", randomHex(16))
	ctx := r.Context()

	s.mu.RLock()
	hang := s.hang
	s.mu.RUnlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return
		}
	}
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	if s.limiter != nil && !s.limiter.Allow() {
		writeError(w, http.StatusTooManyRequests, "APIGW.0308",
			fmt.Sprintf("The throttling threshold has been reached: policy user over ratelimit,limit:%g,time:1 second", s.limit), "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, http.StatusBadRequest, "WKS.0001", "Invalid parameter: the request body could not be read", "body unreadable or over 1 MiB")
		return
	}
	if msg, detail, ok := verifySignature(r, body, time.Now(), s.ak, s.sk); !ok {
		writeAuthError(w, msg, detail)
		return
	}

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "v2" || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		writeNotFound(w)
		return
	}
	if parts[1] != s.project {
		writeAuthError(w, "Incorrect IAM authentication information: the project in the request does not belong to the credential", "project id "+parts[1]+" is not the credential's")
		return
	}
	if pid := r.Header.Get("X-Project-Id"); pid != "" && pid != s.project {
		writeAuthError(w, "Incorrect IAM authentication information: X-Project-Id does not match the credential", "X-Project-Id "+pid+" is not the credential's")
		return
	}
	rest := parts[2:]
	if r.Method == http.MethodPost {
		s.serveAction(w, r, rest, body)
		return
	}
	var h func(http.ResponseWriter, *http.Request, time.Time)
	recordID := ""
	switch {
	case len(rest) == 3 && rest[0] == "desktop-pools" && rest[1] == "script-execution-tasks" && rest[2] == "detail":
		h = s.listTasks
	case len(rest) == 1 && rest[0] == "desktop-pools":
		h = s.listPools
	case len(rest) == 1 && rest[0] == "script-execution-records":
		h = s.listRecords
	case len(rest) == 2 && rest[0] == "script-execution-records" && rest[1] != "":
		recordID = rest[1]
		h = func(w http.ResponseWriter, r *http.Request, now time.Time) { s.showRecord(w, recordID, now) }
	default:
		writeNotFound(w)
		return
	}
	if inj, ok := s.injectedFor(r, recordID, len(rest) == 1 && rest[0] == "desktop-pools"); ok {
		writeError(w, inj.status, inj.code, inj.msg, inj.msg)
		return
	}
	h(w, r, s.now())
}

// maxBody bounds the request bodies the simulator reads.
const maxBody = 1 << 20

// injectedFor finds the injected error that applies to a request.
func (s *Sim) injectedFor(r *http.Request, recordID string, poolList bool) (injectedError, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.injected) == 0 {
		return injectedError{}, false
	}
	if inj, ok := s.injected[PoolList]; ok && poolList {
		return inj, true
	}
	q := r.URL.Query()
	poolID := q.Get("desktop_pool_id")
	if poolID == "" {
		if t := s.tasks[q.Get("script_task_id")]; t != nil {
			poolID = t.base.PoolID
		}
	}
	if poolID == "" && recordID != "" {
		if rec := s.records[recordID]; rec != nil {
			poolID = rec.task.base.PoolID
		}
	}
	if poolID != "" {
		if inj, ok := s.injected[poolID]; ok {
			return inj, true
		}
	}
	inj, ok := s.injected[""]
	return inj, ok
}

// errorBody is the documented error body.
type errorBody struct {
	ErrorCode                   string `json:"error_code"`
	ErrorMsg                    string `json:"error_msg"`
	ErrorDetail                 string `json:"error_detail,omitempty"`
	EncodedAuthorizationMessage string `json:"encoded_authorization_message"`
}

func writeError(w http.ResponseWriter, status int, code, msg, detail string) {
	writeJSON(w, status, errorBody{ErrorCode: code, ErrorMsg: msg, ErrorDetail: detail})
}

func writeAuthError(w http.ResponseWriter, msg, detail string) {
	writeError(w, http.StatusUnauthorized, "APIGW.0301", msg, detail)
}

func writeNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "APIGW.0101",
		"The API does not exist or has not been published in the environment", "no such API in the simulator")
}

func writeBadParam(w http.ResponseWriter, format string, args ...any) {
	msg := "Invalid parameter: " + fmt.Sprintf(format, args...)
	writeError(w, http.StatusBadRequest, "WKS.0001", msg, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error_code":"WKS.0000","error_msg":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return formatUUID(b)
}

func formatUUID(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
