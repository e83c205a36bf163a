package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/response"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
)

// GatewayAuthMessage replaces the message of a gateway authentication error
// (APIGW.0301 and friends): the gateway's own text can echo the canonical
// request, access key included.
const GatewayAuthMessage = "signature or credentials rejected by the API gateway"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorHandler turns every answer with status >= 400 into an *APIError. The
// SDK's default handler drops error_detail and Retry-After.
type errorHandler struct{}

// HandleError implements sdkerr.ErrorHandler.
func (errorHandler) HandleError(_ *request.DefaultHttpRequest, resp *response.DefaultHttpResponse) error {
	if resp.GetStatusCode() < 400 {
		return nil
	}
	r := resp.Response
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	r.Body.Close()
	e := newAPIError(r.StatusCode, r.Header, body)
	if ct := notJSON(r.Header); ct != "" && e.Message == http.StatusText(e.Status) && e.Detail != "" {
		e.Detail = "the API answered with " + ct + ", not JSON"
	}
	return e
}

// errorBody is the documented error answer; code/message is the shape some
// gateways use instead.
type errorBody struct {
	ErrorCode   string `json:"error_code"`
	ErrorMsg    string `json:"error_msg"`
	ErrorDetail string `json:"error_detail"`
	Code        string `json:"code"`
	Message     string `json:"message"`
}

func newAPIError(status int, h http.Header, body []byte) *pooltask.APIError {
	e := &pooltask.APIError{
		Status:     status,
		RequestID:  h.Get("X-Request-Id"),
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), time.Now()),
	}
	var b errorBody
	if err := json.Unmarshal(body, &b); err == nil {
		e.Code, e.Message, e.Detail = b.ErrorCode, b.ErrorMsg, b.ErrorDetail
		if e.Code == "" {
			e.Code = b.Code
		}
		if e.Message == "" {
			e.Message = b.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			e.Detail = trunc.Cut(strings.TrimSpace(string(body)), 200)
		}
	}
	if isGatewayAuth(e.Status, e.Code, e.Message+" "+e.Detail) {
		e.Message = GatewayAuthMessage
		e.Detail = ""
	}
	return e
}

// isGatewayAuth reports whether an error answer is one of the gateway's
// authentication errors, whose text must not be shown.
func isGatewayAuth(status int, code, text string) bool {
	c := strings.ToUpper(code)
	if strings.HasPrefix(c, "APIGW.03") || strings.HasPrefix(c, "APIG.03") {
		return c != "APIGW.0308" && c != "APIG.0308" // throttling, not auth
	}
	if (status == http.StatusUnauthorized || status == http.StatusForbidden) &&
		(strings.HasPrefix(c, "APIGW.") || strings.HasPrefix(c, "APIG.")) {
		return true
	}
	return echoesSignature(text)
}

// echoesSignature reports whether a text looks like it quotes the signed
// request.
func echoesSignature(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "canonical") || strings.Contains(t, "stringtosign") ||
		strings.Contains(t, "string to sign") || strings.Contains(t, "sdk-hmac-sha256")
}

// sanitize hides SDK errors that may quote a gateway authentication answer
// (the SDK flattens them into strings, e.g. during project discovery).
func sanitize(err error) error {
	if err == nil {
		return nil
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		return err
	}
	s := err.Error()
	if strings.Contains(s, "APIGW.03") || strings.Contains(s, "APIG.03") || echoesSignature(s) {
		return errors.New(GatewayAuthMessage)
	}
	return err
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// IsThrottled reports whether err is the API's rate limiting (HTTP 429 or
// error code APIGW.0308/APIG.0308).
func IsThrottled(err error) bool {
	var ae *pooltask.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == http.StatusTooManyRequests || ae.Code == "APIGW.0308" || ae.Code == "APIG.0308"
}

// IsRetryable reports whether a call that failed with err may succeed when
// tried again: throttling, 5xx answers, timeouts and broken connections.
// Client errors (400, 401, 403, 404) are never retryable; five bad
// signatures in a row lock an access key for five minutes.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		return IsThrottled(err) || ae.Status >= 500
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// sdkError makes the SDK's other errors readable. A 2xx answer that fails to
// decode arrives as a ServiceResponseError with status 200: the transport
// has refused the answers that are not JSON, so this one claimed to be and
// was not (cut short, or malformed). The decoder's own words are left out.
func sdkError(err error) error {
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		if sre.StatusCode < 400 {
			return &NotJSONError{Status: sre.StatusCode, RequestID: sre.RequestId}
		}
		// Not expected with our error handler; keep the shape callers use.
		return newAPIErrorFromSDK(sre)
	}
	return sanitize(err)
}

func newAPIErrorFromSDK(sre *sdkerr.ServiceResponseError) *pooltask.APIError {
	e := &pooltask.APIError{Status: sre.StatusCode, Code: sre.ErrorCode, Message: sre.ErrorMessage, RequestID: sre.RequestId}
	if isGatewayAuth(e.Status, e.Code, e.Message) {
		e.Message = GatewayAuthMessage
	}
	return e
}
