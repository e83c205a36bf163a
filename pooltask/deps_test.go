package pooltask_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoSDKBelowTheRenderer keeps the command language, the domain and the
// Block Kit renderer free of the Huawei SDK, even transitively: they speak of
// tasks, not of how they are fetched.
func TestNoSDKBelowTheRenderer(t *testing.T) {
	for _, dep := range deps(t, "../commands/...", "../bot/blocks/...", ".", "../view/...", "../trunc/...") {
		if strings.Contains(dep, "huaweicloud") {
			t.Errorf("commands, bot/blocks, pooltask, view or trunc depends on %s", dep)
		}
	}
}

// TestNoSlackInTheViews keeps what the CLI and Slack both render, and the
// truncation everything shares, free of Slack as well.
func TestNoSlackInTheViews(t *testing.T) {
	for _, dep := range deps(t, "../view/...", "../trunc/...", ".") {
		if strings.Contains(dep, "huaweicloud") || strings.Contains(dep, "slack") {
			t.Errorf("view, trunc or pooltask depends on %s", dep)
		}
	}
}

func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}
