package workspace

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// A body that is not the API's JSON error is kept, shortened, as the error's
// detail; it was cut at a byte count, in the middle of a character.
func TestAPIErrorDetailStaysUTF8(t *testing.T) {
	body := []byte(strings.Repeat("x", 199) + strings.Repeat("é", 100))
	e := newAPIError(http.StatusBadGateway, http.Header{}, body)
	if !utf8.ValidString(e.Detail) {
		t.Fatalf("detail %q is not valid UTF-8", e.Detail)
	}
	if !strings.HasSuffix(e.Detail, "…") || utf8.RuneCountInString(e.Detail) > 200 {
		t.Errorf("detail %q is not cut to 200 characters with an ellipsis", e.Detail)
	}
}
