package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/pooltasks/pooltasks/config"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(subcommand{name: "version", summary: "print the version", run: runVersion})
}

func runVersion(_ context.Context, args []string, _ config.Config, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return usageErrorf("version takes no arguments")
	}
	fmt.Fprintf(stdout, "pooltasks %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
