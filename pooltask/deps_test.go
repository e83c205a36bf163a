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
	out, err := exec.Command("go", "list", "-deps", "../commands/...", "../bot/blocks/...", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "huaweicloud") {
			t.Errorf("commands, bot/blocks or pooltask depends on %s", dep)
		}
	}
}
