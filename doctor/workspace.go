package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	wksregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/region"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
)

// Check names of the Workspace side.
const (
	NameEndpoint    = "workspace endpoint"
	NameCredentials = "workspace credentials"
	NameProject     = "workspace project id"
)

// checkWorkspace checks the Workspace API of opts (of the target named
// target, when there are several).
func checkWorkspace(ctx context.Context, opts Options, bindings config.Bindings, target string) []Check {
	s := opts.Config
	cs := []Check{checkRegionEndpoint(s, opts.Sim)}
	if s.Region == "" && s.Endpoint == "" {
		// The settings check has said what to do.
		return append(cs,
			Check{Name: NameCredentials, Status: Skip, Detail: "not checked: no region or endpoint"},
			Check{Name: NameProject, Status: Skip, Detail: "not checked: no region or endpoint"})
	}
	if opts.Workspace == nil {
		err := opts.WorkspaceErr
		if err == nil {
			err = errors.New("no Workspace client was built")
		}
		return placeFailure(cs, clientFailure(err, s), "not checked: there is no Workspace client")
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	page, err := opts.Workspace.ListTasks(ctx, pooltask.ListOptions{Limit: 1})
	if err != nil {
		return placeFailure(cs, callFailure(err, s, opts), "not confirmed: the signed call failed")
	}
	cs = append(cs, Check{Name: NameCredentials, Status: OK,
		Detail: fmt.Sprintf("a signed call (list tasks, limit=1) was answered: %d tasks in the project", page.Total)})

	p := Check{Name: NameProject, Status: OK}
	pid := opts.Workspace.ProjectID()
	how := "configured"
	if s.ProjectID == "" {
		how = "discovered for the region"
	}
	if pid == "" {
		p.Detail = "taken from the credentials (ECS metadata or pod identity)"
	} else {
		p.Detail = fmt.Sprintf("%s (%s)", pid, how)
	}
	cs = append(cs, p)
	if c, ok := checkPoolNames(ctx, opts, bindings, target); ok {
		cs = append(cs, c)
	}
	return cs
}

// NamePoolNames is the check of the pool names in the configuration.
const NamePoolNames = "pool names"

// checkPoolNames looks up every pool name of POOLTASKS_CHANNEL_POOLS and
// POOLTASKS_DIGEST_POOLS: one that names no pool, or several, makes a bound
// channel's digest refuse and leaves the pool out of digests and alerts.
// bindings are those config.Validate parsed (it has reported any that do not parse).
// ok is false when there is nothing to check. With several targets, those
// of target are checked: the pools without a TARGET: prefix, and those
// with its own.
func checkPoolNames(ctx context.Context, opts Options, bindings config.Bindings, target string) (Check, bool) {
	type entry struct{ from, name string }
	var entries []entry
	for ch, pools := range bindings.All() {
		for _, p := range pools {
			t, pool := config.SplitTarget(p)
			if pool != "*" && (t == "" || strings.EqualFold(t, target)) {
				entries = append(entries, entry{"POOLTASKS_CHANNEL_POOLS " + ch, pool})
			}
		}
	}
	for _, p := range opts.Config.DigestPools {
		if p = strings.TrimSpace(p); p != "" {
			entries = append(entries, entry{"POOLTASKS_DIGEST_POOLS", p})
		}
	}
	if len(entries) == 0 || opts.Workspace == nil {
		return Check{}, false
	}
	var problems []string
	for _, e := range entries {
		res := opts.Workspace.ResolvePool(ctx, e.name)
		if res.LookupErr != nil {
			return Check{Name: NamePoolNames, Status: Warn, Detail: "the pools could not be looked up: " + oneLine(res.LookupErr.Error()),
				Fix: "run doctor again: the signed call above was answered, so the pools API may have failed just this once"}, true
		}
		if err := res.Err(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s", e.from, err))
		}
	}
	if len(problems) > 0 {
		return Check{Name: NamePoolNames, Status: Warn, Detail: strings.Join(problems, "; "),
			Fix: "write each pool's full name or its id; a bound channel's digest refuses, and digests and alerts leave out, a name that is not exactly one pool"}, true
	}
	detail := fmt.Sprintf("the %d pool names in the configuration each name one pool", len(entries))
	if len(entries) == 1 {
		detail = "the pool name in the configuration names one pool"
	}
	return Check{Name: NamePoolNames, Status: OK, Detail: detail}, true
}

// placeFailure reports one failure f on the check it concerns (cs holds the endpoint
// check alone) and the credentials and project checks it leaves open as skipped, why.
func placeFailure(cs []Check, f Check, why string) []Check {
	creds := Check{Name: NameCredentials, Status: Skip, Detail: why + " (see " + f.Name + ")"}
	project := Check{Name: NameProject, Status: Skip, Detail: why + " (see " + f.Name + ")"}
	switch f.Name {
	case NameEndpoint:
		cs[0] = f
	case NameProject:
		project = f
	default:
		creds = f
	}
	return append(cs, creds, project)
}

// checkRegionEndpoint says where the API calls go, and fails a region the SDK does not know.
func checkRegionEndpoint(s config.Config, sim bool) Check {
	c := Check{Name: NameEndpoint}
	switch {
	case sim:
		c.Status, c.Detail = OK, "the built-in simulator at "+s.Endpoint
	case s.Endpoint != "":
		c.Status, c.Detail = OK, s.Endpoint+" (WORKSPACE_ENDPOINT)"
	case s.Region == "":
		c.Status, c.Detail = Skip, "no region or endpoint to check"
	default:
		reg, err := wksregion.SafeValueOf(s.Region)
		if err != nil || reg == nil || len(reg.Endpoints) == 0 {
			c.Status = Fail
			c.Detail = fmt.Sprintf("the SDK does not know the region %q", s.Region)
			c.Fix = "use a region id such as ap-southeast-1, ap-southeast-3, cn-north-4 or cn-east-3, or set WORKSPACE_ENDPOINT to the full base URL"
			return c
		}
		c.Status, c.Detail = OK, fmt.Sprintf("region %s → %s", s.Region, reg.Endpoints[0])
	}
	return c
}

// clientFailure explains why the Workspace client could not be built.
func clientFailure(err error, s config.Config) Check {
	c := Check{Name: NameCredentials, Status: Fail, Detail: "the Workspace client could not be built: " + err.Error()}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "credential"):
		c.Fix = "set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, or provide ~/.huaweicloud/credentials, ECS metadata (an agency on the ECS) or CCE pod identity"
	case strings.Contains(msg, "project"):
		c.Name = NameProject
		c.Fix = fmt.Sprintf("set WORKSPACE_PROJECT_ID: finding it for region %q asks IAM, which failed (check the AK/SK and that IAM is reachable)", s.Region)
	case strings.Contains(msg, "region"):
		c.Name = NameEndpoint
		c.Fix = "set WORKSPACE_REGION to a region the SDK knows, or WORKSPACE_ENDPOINT to the full base URL"
	default:
		c.Fix = "check WORKSPACE_REGION, WORKSPACE_ENDPOINT and the credentials"
	}
	return c
}

// callFailure turns the error of the one signed call into a diagnosis.
func callFailure(err error, s config.Config, opts Options) Check {
	c := Check{Name: NameCredentials, Status: Fail}
	where := s.Endpoint
	if where == "" {
		where = "region " + s.Region
	}
	var ae *pooltask.APIError
	switch {
	case errors.As(err, &ae):
		code := strings.TrimSpace(fmt.Sprintf("%d %s", ae.Status, ae.Code))
		rid := ""
		if ae.RequestID != "" {
			rid = ", request id " + ae.RequestID
		}
		c.Detail = fmt.Sprintf("%s: %s (%s%s)", describeStatus(ae.Status), ae.Message, code, rid)
		switch {
		case ae.Status == http.StatusUnauthorized:
			c.Detail = fmt.Sprintf("AK/SK rejected (%s%s)", code, rid)
			ak := ""
			if s.AK != "" {
				ak = " (AK " + config.Mask(s.AK) + ")"
			}
			c.Fix = "check HUAWEICLOUD_SDK_AK/SK" + ak + " and that WORKSPACE_PROJECT_ID belongs to them and to the region; " +
				"five failures in a row lock the AK for 5 minutes, so fix it before trying again"
		case ae.Status == http.StatusForbidden:
			c.Detail = fmt.Sprintf("the credentials were accepted but may not list script execution tasks (%s%s)", code, rid)
			c.Fix = "grant the IAM user or agency of these credentials read access to Workspace (a Workspace read-only policy) in the project of " + where
		case strings.HasPrefix(strings.ToUpper(ae.Code), "WKS.") && strings.Contains(strings.ToLower(ae.Message), "project"):
			c.Name = NameProject
			c.Detail = fmt.Sprintf("the API refused the project: %s (%s%s)", ae.Message, code, rid)
			c.Fix = "check WORKSPACE_PROJECT_ID: it must be the project id of WORKSPACE_REGION (IAM console → My Credentials → Projects), or unset it to discover it"
		case ae.Status == http.StatusNotFound:
			c.Name = NameEndpoint
			c.Detail = fmt.Sprintf("%s does not serve the Workspace API (%s%s)", where, code, rid)
			c.Fix = "check WORKSPACE_ENDPOINT (the base URL, without /v2/…) or unset it to use the region's"
		case workspace.IsThrottled(err):
			c.Status = Warn
			c.Detail = fmt.Sprintf("throttled by the API gateway (%s%s): the credentials could not be checked", code, rid)
			c.Fix = "run doctor again in a minute; if the bot runs too, lower WORKSPACE_RATE_LIMIT"
		case ae.Status >= 500:
			c.Fix = "the service failed: try again later; if it persists, quote the request id to Huawei Cloud support"
		default:
			c.Fix = "see the error code in the Workspace API reference; quote the request id to Huawei Cloud support"
		}
	case errors.Is(err, context.DeadlineExceeded):
		c.Detail = fmt.Sprintf("no answer from %s within %v", where, opts.Timeout)
		c.Fix = "check that this host can reach the endpoint (egress firewall, proxy, DNS) and that WORKSPACE_REGION/WORKSPACE_ENDPOINT are right"
	case isNetwork(err):
		c.Name = NameEndpoint
		c.Detail = fmt.Sprintf("%s is unreachable: %v", where, err)
		c.Fix = "check WORKSPACE_REGION/WORKSPACE_ENDPOINT and that this host can reach the endpoint (egress firewall, proxy, DNS)"
	default:
		c.Detail = err.Error()
		c.Fix = "check WORKSPACE_REGION, WORKSPACE_ENDPOINT and the credentials"
	}
	return c
}

func describeStatus(status int) string {
	if t := http.StatusText(status); t != "" {
		return strings.ToLower(t)
	}
	return fmt.Sprintf("status %d", status)
}

func isNetwork(err error) bool {
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &ne) || errors.As(err, &op) || errors.As(err, &dns)
}
