package workspace

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	sts "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/sts/v1"
	stsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/sts/v1/model"
	stsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/sts/v1/region"
)

// Agency is an IAM agency of another account, assumed through STS
// AssumeAgency with the client's own credentials, for temporary
// credentials that sign the client's calls.
type Agency struct {
	URN              string        // iam::ACCOUNT_ID:agency:NAME
	SessionName      string        // agency_session_name; default "pooltasks"
	Duration         time.Duration // of each set of credentials; default 1h
	SessionPolicyIDs []string
	// Endpoint overrides the STS endpoint of the region
	// (https://sts.REGION.myhuaweicloud.com), as Config.Endpoint does
	// Workspace's.
	Endpoint string
	// Now is the clock that decides when the credentials are renewed;
	// default time.Now.
	Now func() time.Time
}

// refreshBefore is how long before they expire assumed credentials are
// renewed: a quarter of their life, at most five minutes, so a call signed
// with them never reaches the gateway expired.
func refreshBefore(life time.Duration) time.Duration { return min(life/4, 5*time.Minute) }

// agencyCredential signs every request with the temporary credentials of
// an agency, assuming it again when they are about to expire. The SDK sees
// an ICredential; the credentials themselves are the SDK's basic ones.
type agencyCredential struct {
	sts       *sts.StsClient
	agency    Agency
	projectID string // empty until given or discovered

	mu      sync.Mutex
	cur     *auth.BasicCredentials
	expires time.Time
	renewAt time.Time
}

// agencyCredentialType is the type name the SDK's builder checks.
const agencyCredentialType = "workspace.agencyCredential"

// newAgencyCredential prepares assuming a: the STS client is built with
// base (the bot's own credentials) and no region, so building it asks
// nothing of IAM.
func newAgencyCredential(cfg Config, base auth.ICredential, hc *config.HttpConfig) (*agencyCredential, error) {
	a := *cfg.Agency
	if a.SessionName == "" {
		a.SessionName = "pooltasks"
	}
	if a.Duration <= 0 {
		a.Duration = time.Hour
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	endpoint := a.Endpoint
	if endpoint == "" {
		if reg, err := stsregion.SafeValueOf(cfg.Region); err == nil {
			endpoint = reg.Endpoints[0]
		} else if cfg.Region != "" {
			endpoint = "https://sts." + cfg.Region + ".myhuaweicloud.com"
		} else {
			return nil, errors.New("workspace: assuming an agency needs a region or an STS endpoint")
		}
	}
	hcClient, err := sts.StsClientBuilder().
		WithEndpoints([]string{strings.TrimRight(endpoint, "/")}).
		WithCredential(base).
		WithHttpConfig(hc).
		WithErrorHandler(errorHandler{}).
		SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("workspace: building the sts client: %w", sanitize(err))
	}
	return &agencyCredential{sts: sts.NewStsClient(hcClient), agency: a, projectID: cfg.ProjectID}, nil
}

// credentials returns the current temporary credentials, assuming the
// agency when there are none or they are due for renewal. A renewal that
// fails while the old ones are still valid keeps them (the next call tries
// again); once they have expired the error is the call's.
func (a *agencyCredential) credentials() (*auth.BasicCredentials, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.agency.Now()
	if a.cur != nil && now.Before(a.renewAt) {
		return a.cur, nil
	}
	cred, expires, err := a.assume()
	if err != nil {
		if a.cur != nil && now.Before(a.expires) {
			return a.cur, nil
		}
		return nil, err
	}
	a.cur, a.expires = cred, expires
	a.renewAt = expires.Add(-refreshBefore(expires.Sub(now)))
	return cred, nil
}

// assume calls STS AssumeAgency once.
func (a *agencyCredential) assume() (*auth.BasicCredentials, time.Time, error) {
	secs := int32(a.agency.Duration / time.Second)
	body := &stsmodel.AssumeAgencyReqBody{
		AgencyUrn:         a.agency.URN,
		AgencySessionName: a.agency.SessionName,
		DurationSeconds:   &secs,
	}
	if len(a.agency.SessionPolicyIDs) > 0 {
		ids := append([]string(nil), a.agency.SessionPolicyIDs...)
		body.PolicyIds = &ids
	}
	resp, err := a.sts.AssumeAgency(&stsmodel.AssumeAgencyRequest{Body: body})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("assuming agency %s: %w", a.agency.URN, sdkError(err))
	}
	c := resp.Credentials
	if c == nil || c.AccessKeyId == "" || c.SecretAccessKey == "" || c.Expiration == nil {
		return nil, time.Time{}, fmt.Errorf("assuming agency %s: the answer has no credentials", a.agency.URN)
	}
	cred, err := basic.NewCredentialsBuilder().
		WithAk(c.AccessKeyId).
		WithSk(c.SecretAccessKey).
		WithSecurityToken(c.SecurityToken).
		WithProjectId(a.projectID).
		SafeBuild()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("assuming agency %s: %w", a.agency.URN, sanitize(err))
	}
	return cred, time.Time(*c.Expiration), nil
}

// ProcessAuthParams implements auth.ICredential: with no project id, it is
// discovered for the region with the agency's credentials, as the SDK
// does for its own.
func (a *agencyCredential) ProcessAuthParams(client *impl.DefaultHttpClient, region string) (auth.ICredential, error) {
	if a.projectID != "" {
		return a, nil
	}
	cred, err := a.credentials()
	if err != nil {
		return nil, err
	}
	if _, err := cred.ProcessAuthParams(client, region); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.projectID = cred.ProjectId
	a.mu.Unlock()
	return a, nil
}

// ProcessAuthRequest implements auth.ICredential: it signs req with the
// current temporary credentials.
func (a *agencyCredential) ProcessAuthRequest(client *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	cred, err := a.credentials()
	if err != nil {
		return nil, err
	}
	return cred.ProcessAuthRequest(client, req)
}
