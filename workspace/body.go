package workspace

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBody bounds every answer body the client reads. The largest
// answers it asks for are a page of 100 tasks (each with its scripts and
// command_content, a few KB; a page with long commands stays under 1 MB),
// a page of 1000 pools (about 0.5 MB) and one record with its output
// (script output as the agent reports it, far less than a MB). 8 MiB
// leaves room for all of them several times over, while a runaway answer
// (the 50 MB that took `pooltasks query` to 270 MB RSS) is cut off.
const DefaultMaxBody = 8 << 20

// BodyTooLargeError says an answer body was larger than the client reads.
type BodyTooLargeError struct {
	Limit     int64 // bytes read at most
	Status    int   // HTTP status of the answer
	RequestID string
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("the API's answer is larger than %s, more than any answer pooltasks asks for; status %d, request id %s",
		sizeText(e.Limit), e.Status, requestID(e.RequestID))
}

// NotJSONError says a successful answer was not the JSON asked for: an HTML
// login page from a proxy, a body cut short, JSON of another shape. Its
// text never quotes the decoder, whose words mean nothing to a user.
type NotJSONError struct {
	ContentType string // as the answer gave it; "" when it claimed JSON
	Status      int
	RequestID   string
}

func (e *NotJSONError) Error() string {
	if e.ContentType == "" {
		return fmt.Sprintf("the API's answer is not the JSON expected (cut short, or of another shape); status %d, request id %s", e.Status, requestID(e.RequestID))
	}
	return fmt.Sprintf("the API answered with %s, not JSON; status %d, request id %s", e.ContentType, e.Status, requestID(e.RequestID))
}

func requestID(id string) string {
	if id == "" {
		return "none"
	}
	return id
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// notJSON returns the media type of an answer that declares one other than
// JSON, or "" for JSON and for an answer that declares none (the decoder
// then judges it).
func notJSON(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return ""
	}
	return mt
}

// checkAnswer bounds the body of resp, and refuses a successful answer
// that declares a type other than JSON before anything reads it. It
// closes resp's body when it refuses.
func checkAnswer(resp *http.Response, limit int64) error {
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode < 300 {
		if ct := notJSON(resp.Header); ct != "" {
			resp.Body.Close()
			return &NotJSONError{ContentType: ct, Status: resp.StatusCode, RequestID: id}
		}
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return &BodyTooLargeError{Limit: limit, Status: resp.StatusCode, RequestID: id}
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: limit, err: &BodyTooLargeError{Limit: limit, Status: resp.StatusCode, RequestID: id}}
	return nil
}

// limitedBody reads at most left more bytes, then fails with err if the
// body goes on (unlike io.LimitReader, which would end it quietly and let
// a cut answer look whole).
type limitedBody struct {
	io.ReadCloser
	left int64
	err  *BodyTooLargeError
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
