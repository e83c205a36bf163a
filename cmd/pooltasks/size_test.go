package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinkerDropsUnusedMethods keeps the linker able to drop the methods
// nothing calls. One reachable call of a reflect method by a name computed
// at run time (reflect.Value.MethodByName, or an interface's MethodByName
// that a reflect-based library such as the Huawei SDK's reflect2 answers)
// makes it keep every exported method of every type instead. With
// prometheus/client_golang, whose protobuf made such a call, pooltasks was
// 22.6 MB instead of 12 and about 5 MB more of it was resident in each
// process (docs/performance.md, "Where the peak RSS goes"). The linker's
// -dumpdep lists what it keeps; <ReflectMethod> marks those calls.
func TestLinkerDropsUnusedMethods(t *testing.T) {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-dumpdep", "-o", filepath.Join(t.TempDir(), "pooltasks"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	var calls []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "<ReflectMethod>") {
			calls = append(calls, strings.TrimSpace(line))
		}
	}
	if len(calls) > 0 {
		t.Errorf("%d reachable calls of reflect methods by computed names keep every exported method in the binary; the first:\n%s",
			len(calls), strings.Join(calls[:min(len(calls), 5)], "\n"))
	}
}
