package sim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

const (
	algorithmSDK = "SDK-HMAC-SHA256"
	// maxSkew is how far X-Sdk-Date may be from the server's clock.
	maxSkew = 15 * time.Minute
)

// verifySignature checks a request's SDK-HMAC-SHA256 signature by signing
// the same request again with the SDK's own signer and the AK/SK. On
// failure it returns the gateway's message, which, like the real one, shows
// a canonical request: clients must never pass it on. The body is part of
// what is signed, so a body changed on the way is refused.
func verifySignature(r *http.Request, body []byte, now time.Time, wantAK, sk string) (msg, detail string, ok bool) {
	const prefix = "Incorrect IAM authentication information: "
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return prefix + "Authorization not found in header", "missing Authorization header", false
	}
	alg, fields, found := strings.Cut(auth, " ")
	if !found || alg != algorithmSDK {
		return prefix + "unsupported signing algorithm", "unsupported signing algorithm " + alg, false
	}
	params := make(map[string]string)
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		params[k] = v
	}
	ak, signed, sig := params["Access"], params["SignedHeaders"], params["Signature"]
	if ak == "" || signed == "" || sig == "" {
		return prefix + "malformed Authorization header", "malformed Authorization header", false
	}
	date := r.Header.Get(signer.HeaderXDate)
	t, err := time.Parse(signer.BasicDateFormat, date)
	if err != nil {
		return prefix + "X-Sdk-Date not found or malformed in header", "bad X-Sdk-Date", false
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return prefix + "verify aksk signature fail, signature expired, X-Sdk-Date:" + date, "X-Sdk-Date too far from server time", false
	}

	b := request.NewHttpRequestBuilder().
		WithEndpoint("http://" + r.Host).
		WithMethod(r.Method).
		WithPath(r.URL.Path)
	query := r.URL.Query()
	for k, vs := range query {
		b.AddQueryParam(k, reflect.ValueOf(vs))
	}
	headerNames := strings.Split(signed, ";")
	for _, h := range headerNames {
		if strings.EqualFold(h, "host") {
			b.AddHeaderParam("Host", r.Host)
			continue
		}
		vs := r.Header.Values(h)
		if len(vs) == 0 {
			return prefix + "verify aksk signature fail, signed header " + h + " not found", "signed header missing", false
		}
		b.AddHeaderParam(http.CanonicalHeaderKey(h), strings.Join(vs, ","))
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		b.AddHeaderParam("Content-Type", ct)
	}
	if len(body) > 0 {
		b.WithBody("json", string(body))
	}
	req := b.Build()
	want, err := signer.Signer{}.Sign(req, wantAK, sk)
	if err != nil {
		return prefix + "verify aksk signature fail", "signing: " + err.Error(), false
	}
	if ak != wantAK || subtle.ConstantTimeCompare([]byte(auth), []byte(want[signer.HeaderAuthorization])) != 1 {
		return prefix + "verify aksk signature fail, ak:" + ak + ", canonicalRequest:" + canonicalText(r, headerNames, query),
			"the signature computed by the server does not match the one in the request", false
	}
	return "", "", true
}

// canonicalText approximates the gateway's canonical request for its error
// message.
func canonicalText(r *http.Request, headers []string, query map[string][]string) string {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		for _, v := range query[k] {
			q = append(q, k+"="+v)
		}
	}
	var hs []string
	for _, h := range headers {
		hs = append(hs, fmt.Sprintf("%s:%s", h, r.Header.Get(h)))
	}
	return fmt.Sprintf("%s\n%s/\n%s\n%s\n\n%s\n", r.Method, r.URL.Path, strings.Join(q, "&"), strings.Join(hs, "\n"), strings.Join(headers, ";"))
}
