package workspace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/provider"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	wks "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2"
	wksregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/region"
	"github.com/pooltasks/pooltasks/pooltask"
	"golang.org/x/time/rate"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultRateLimit    = 5
	DefaultBurst        = 5
	DefaultTimeout      = 10 * time.Second
	DefaultMaxAttempts  = 4
	DefaultMaxRetryTime = 30 * time.Second
	DefaultBackoffBase  = 500 * time.Millisecond
	DefaultUserAgent    = "pooltasks"
)

// Config configures a Client. cmd/ fills it from the environment; nothing in
// this package reads the environment itself, except the SDK's credential
// provider chain when AK is empty.
type Config struct {
	Region        string // region id, e.g. ap-southeast-1 (WORKSPACE_REGION)
	Endpoint      string // full base URL override, http allowed (WORKSPACE_ENDPOINT)
	ProjectID     string // empty: the SDK looks it up for the region
	AK            string // empty: the SDK's provider chain (env, profile, ECS metadata, pod identity)
	SK            string
	SecurityToken string
	// Agency, when set, is assumed with the credentials above (or the
	// provider chain's) and its temporary credentials sign every call.
	Agency *Agency

	RateLimit    float64       // outbound requests per second for all calls; default 5, negative means unlimited
	Burst        int           // token bucket size; default 5
	Timeout      time.Duration // per request attempt; default 10s
	CacheTTL     time.Duration // how long answers are reused; 0 disables the cache
	PoolCacheTTL time.Duration // how long ResolvePool keeps the pool list; default 5 min
	MaxBody      int64         // bytes read of one answer at most; default DefaultMaxBody
	MaxAttempts  int           // attempts for 429, 5xx and timeouts; default 4
	MaxRetryTime time.Duration // bound on the time spent retrying one call; default 30s
	BackoffBase  time.Duration // first backoff; default 500ms; a 429 without Retry-After waits 4–10 times this
	Observer     Observer      // metrics hooks; nil means none
	UserAgent    string        // default "pooltasks"; always set so the SDK never writes ~/.huaweicloud/application_id
}

// Observer receives metrics events. The bot implements it with Prometheus.
// Its methods are called concurrently and must not block.
type Observer interface {
	// APICall is called once per HTTP attempt; status is 0 for a network
	// error or a timeout.
	APICall(op string, status int, d time.Duration)
	// RateLimitWait reports the time a call waited for the token bucket.
	RateLimitWait(d time.Duration)
	// CacheHit is called when a call was answered from the cache.
	CacheHit(op string)
	// Coalesced is called when a call shared another caller's in-flight call.
	Coalesced(op string)
}

type nopObserver struct{}

func (nopObserver) APICall(string, int, time.Duration) {}
func (nopObserver) RateLimitWait(time.Duration)        {}
func (nopObserver) CacheHit(string)                    {}
func (nopObserver) Coalesced(string)                   {}

// Client calls the Workspace API. It is safe for concurrent use. Every
// result belongs to its caller, who may change it: answers from the cache or
// from another caller's call are copied, nested slices included.
type Client struct {
	cfg       Config
	sdk       *wks.WorkspaceClient
	projectID string
	limiter   *rate.Limiter
	limMu     sync.Mutex // held from reading the clock to calling limiter with it (see wait)
	unlimited bool       // the limiter's limit is rate.Inf
	obs       Observer
	calls     *callRegistry
	now       func() time.Time // the caches' clock; tests replace it
	resolver  *PoolResolver

	// The calls of each kind of answer, with their caches.
	tasks   *shared[pooltask.TaskPage]
	records *shared[pooltask.RecordPage]
	record  *shared[pooltask.Record]
	pools   *shared[pooltask.PoolPage]
	windows windows // the cached first pages that answer alike task queries
}

// New builds a Client. It makes no network call unless ProjectID is empty
// (the SDK then asks IAM for the project of the region) or AK is empty and
// the provider chain has to ask the ECS metadata service.
func New(cfg Config) (*Client, error) {
	cfg = withDefaults(cfg)
	if cfg.Region == "" && cfg.Endpoint == "" {
		return nil, errors.New("workspace: a region or an endpoint is required")
	}
	if cfg.Region == "" && cfg.ProjectID == "" {
		return nil, errors.New("workspace: a project id is required when no region is given")
	}

	reg, err := buildRegion(cfg)
	if err != nil {
		return nil, err
	}
	cred, err := buildCredential(cfg)
	if err != nil {
		return nil, err
	}

	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	calls := &callRegistry{}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 32
	tr := &transport{base: base, calls: calls, obs: obs, timeout: cfg.Timeout, maxBody: cfg.MaxBody}

	// No timeout on the http.Client: with a RoundTripper of its own it
	// would start a goroutine and a timer for every request. attempt and
	// the transport bound every request by cfg.Timeout instead.
	hc := config.DefaultHttpConfig().
		WithTimeout(0).
		WithUserAgent(cfg.UserAgent).
		WithHttpRoundTripper(tr).
		WithIgnoreContentTypeForGetRequest(false)

	if cfg.Agency != nil {
		if cred, err = newAgencyCredential(cfg, cred, hc); err != nil {
			return nil, err
		}
	}
	hcClient, err := wks.WorkspaceClientBuilder().
		WithCredentialsType("basic.Credentials," + agencyCredentialType).
		WithRegion(reg).
		WithCredential(cred).
		WithHttpConfig(hc).
		WithErrorHandler(errorHandler{}).
		SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("workspace: building the sdk client: %w", sanitize(err))
	}

	limit := rate.Limit(cfg.RateLimit)
	if cfg.RateLimit < 0 {
		limit = rate.Inf
	}
	c := &Client{
		cfg:       cfg,
		sdk:       wks.NewWorkspaceClient(hcClient),
		limiter:   rate.NewLimiter(limit, cfg.Burst),
		unlimited: limit == rate.Inf,
		obs:       obs,
		calls:     calls,
		now:       time.Now,
		tasks:     newShared[pooltask.TaskPage](OpListTasks),
		records:   newShared[pooltask.RecordPage](OpListRecords),
		record:    newShared[pooltask.Record](OpGetRecord),
		pools:     newShared[pooltask.PoolPage](OpListPools),
	}
	c.resolver = NewPoolResolver(c, cfg.PoolCacheTTL, func() time.Time { return c.now() })
	switch cred := hcClient.GetCredential().(type) {
	case *auth.BasicCredentials:
		c.projectID = cred.ProjectId
	case *agencyCredential:
		c.projectID = cred.projectID
	}
	return c, nil
}

// ResolvePool says what a pool value names, by the one pool rule (see
// PoolResolver), keeping the pool list for Config.PoolCacheTTL.
func (c *Client) ResolvePool(ctx context.Context, value string) pooltask.Resolution {
	return c.resolver.ResolvePool(ctx, value)
}

// ProjectID returns the project id the client works in, as configured or as
// the SDK discovered it.
func (c *Client) ProjectID() string { return c.projectID }

func withDefaults(cfg Config) Config {
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxRetryTime <= 0 {
		cfg.MaxRetryTime = DefaultMaxRetryTime
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	return cfg
}

func buildRegion(cfg Config) (*region.Region, error) {
	if cfg.Endpoint != "" {
		id := cfg.Region
		if id == "" {
			id = "custom"
		}
		// WithRegion overwrites WithEndpoint in the builder, so the override
		// has to live in the region itself.
		return region.NewRegion(id, strings.TrimRight(cfg.Endpoint, "/")), nil
	}
	reg, err := wksregion.SafeValueOf(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("workspace: unknown region %q (set an endpoint for regions the sdk does not know): %w", cfg.Region, err)
	}
	return reg, nil
}

func buildCredential(cfg Config) (auth.ICredential, error) {
	if cfg.AK != "" {
		cred, err := basic.NewCredentialsBuilder().
			WithAk(cfg.AK).
			WithSk(cfg.SK).
			WithSecurityToken(cfg.SecurityToken).
			WithProjectId(cfg.ProjectID).
			SafeBuild()
		if err != nil {
			return nil, fmt.Errorf("workspace: credentials: %w", sanitize(err))
		}
		return cred, nil
	}
	// The builder's own default chain omits pod identity: ask the full
	// chain and hand its answer over explicitly.
	cred, err := provider.BasicCredentialProviderChain().GetCredentials()
	if err != nil {
		return nil, fmt.Errorf("workspace: no credentials found (env HUAWEICLOUD_SDK_AK/SK, profile file, ECS metadata or pod identity): %w", sanitize(err))
	}
	if cfg.ProjectID != "" {
		if bc, ok := cred.(*auth.BasicCredentials); ok {
			bc.ProjectId = cfg.ProjectID
		}
	}
	return cred, nil
}
