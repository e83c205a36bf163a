package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// STS simulates STS AssumeAgency (POST /v5/agencies/assume) for tests of
// assumed credentials: it checks the caller's SDK-HMAC-SHA256 signature
// with its AK/SK, checks the body, and issues temporary credentials that
// expire Duration after its clock's now. Every issue has a security token
// of its own (sts-token-1, sts-token-2, …), so a test can tell which
// credentials signed a later call.
type STS struct {
	AK, SK string           // the caller's credentials; DemoAK/DemoSK when empty
	Now    func() time.Time // the clock of the expiry; time.Now when nil
	// TempAK and TempSK are what it issues (the AK/SK of the Sim that
	// should accept them).
	TempAK, TempSK string

	mu     sync.Mutex
	issued []AssumeCall
}

// AssumeCall is one AssumeAgency that STS answered.
type AssumeCall struct {
	URN, SessionName string
	DurationSeconds  int
	PolicyIDs        []string
	Token            string    // the security token issued
	Expires          time.Time // when the credentials expire
}

// Calls returns the AssumeAgency calls answered so far.
func (s *STS) Calls() []AssumeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeCall(nil), s.issued...)
}

// ServeHTTP implements http.Handler.
func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ak, sk := s.AK, s.SK
	if ak == "" {
		ak, sk = DemoAK, DemoSK
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v5/agencies/assume" {
		writeNotFound(w)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		writeError(w, http.StatusBadRequest, "STS.0001", "the request body could not be read", "")
		return
	}
	if msg, detail, ok := verifySignature(r, raw, time.Now(), ak, sk); !ok {
		writeAuthError(w, msg, detail)
		return
	}
	var body struct {
		DurationSeconds   int      `json:"duration_seconds"`
		AgencyURN         string   `json:"agency_urn"`
		AgencySessionName string   `json:"agency_session_name"`
		PolicyIDs         []string `json:"policy_ids"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "STS.0001", "the request body is not JSON", err.Error())
		return
	}
	if !strings.HasPrefix(body.AgencyURN, "iam::") || !strings.Contains(body.AgencyURN, ":agency:") || body.AgencySessionName == "" {
		writeError(w, http.StatusBadRequest, "STS.0002", "agency_urn and agency_session_name are required", "")
		return
	}
	if body.DurationSeconds == 0 {
		body.DurationSeconds = 3600
	}
	if body.DurationSeconds < 900 || body.DurationSeconds > 43200 {
		writeError(w, http.StatusBadRequest, "STS.0003", "duration_seconds must be 900 to 43200", "")
		return
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	s.mu.Lock()
	call := AssumeCall{URN: body.AgencyURN, SessionName: body.AgencySessionName, DurationSeconds: body.DurationSeconds,
		PolicyIDs: body.PolicyIDs, Token: fmt.Sprintf("sts-token-%d", len(s.issued)+1),
		Expires: now().UTC().Truncate(time.Second).Add(time.Duration(body.DurationSeconds) * time.Second)}
	s.issued = append(s.issued, call)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"credentials": map[string]string{
			"access_key_id":     s.TempAK,
			"secret_access_key": s.TempSK,
			"security_token":    call.Token,
			"expiration":        call.Expires.Format(time.RFC3339),
		},
		"assumed_agency": map[string]string{"agency_session_urn": "sts::" + strings.TrimPrefix(body.AgencyURN, "iam::") + "/" + body.AgencySessionName},
	})
}
